import type { Command } from 'commander';
import { callFilterOf, limitOf, STATUSES, type CallFilterOptions } from '../call-filter.js';
import { showCalls } from '../call-view.js';
import { client, globals } from '../context.js';

const LIST_DEFAULT = 20;
const LIST_MAX = 1000;
/** The most calls one `POST /v1/dead-letters/retry` re-runs. */
const RETRY_MAX = 10_000;

interface DeadLetterOptions extends CallFilterOptions {
  limit?: string;
  retry?: boolean;
}

export function deadLettersCommand(cmd: Command): void {
  cmd
    .option('--fn <name>', 'only dead letters of this function')
    .option('--status <status>', `only dead letters in this status (${STATUSES.join(', ')})`)
    .option('--session <id>', 'only dead letters of this session')
    .option('--limit <n>', `how many (default ${LIST_DEFAULT}; with --retry, every match up to ${RETRY_MAX})`)
    .option('--retry', 'run the matching dead letters again (each goes PENDING) and print how many')
    .addHelpText(
      'after',
      `
Examples:
  ferry dead-letters
  ferry dead-letters --fn dice --status TIMEOUT --limit 100
  ferry dead-letters --fn dice --retry
  ferry dead-letters --json | jq -r '.calls[].id'`,
    )
    .action(async (opts: DeadLetterOptions) => {
      const filter = callFilterOf(opts);
      const api = client(cmd);
      const { json } = globals(cmd);
      if (opts.retry) {
        const { retried } = await api.retryDeadLetters({ ...filter, ...(opts.limit !== undefined ? { limit: limitOf(opts.limit, RETRY_MAX) } : {}) });
        if (json) process.stdout.write(JSON.stringify({ retried }, null, 2) + '\n');
        else process.stdout.write(`retried ${retried} dead letter${retried === 1 ? '' : 's'}\n`);
        // One request takes at most RETRY_MAX: with more left, another run takes the next ones.
        if (!json && retried === RETRY_MAX && opts.limit === undefined) process.stderr.write(`(${RETRY_MAX} is the most one run retries: run it again for the rest)\n`);
        return;
      }
      const page = await api.listDeadLetters({ ...filter, limit: opts.limit === undefined ? LIST_DEFAULT : limitOf(opts.limit, LIST_MAX) });
      // Every row is a dead letter: no need to mark each.
      showCalls(json, page.calls, { nextCursor: page.nextCursor }, false);
    });
}
