import type { Command } from 'commander';
import type { SessionView } from '../../../shared/protocol/session-view.js';
import { usage } from '../cli-error.js';
import { client, globals } from '../context.js';
import { ago, show } from '../output.js';
import { parseData, parseParam } from './invoke.js';

const MAX_APPEND = 10_000;

/** `12 DONE, 1 ERROR` */
const countsText = (s: SessionView): string =>
  Object.entries(s.counts)
    .map(([status, n]) => `${n} ${status}`)
    .join(', ') || '-';

/** `session <id>: started — 3 RUNNING, 7 DONE of 10` */
const sessionLine = (s: SessionView): string => `session ${s.id}: ${s.state} — ${countsText(s)} of ${s.total}`;

/** Prints a session as JSON for scripts, its line for people. */
function printSession(json: boolean, s: SessionView): void {
  process.stdout.write(json ? JSON.stringify(s, null, 2) + '\n' : sessionLine(s) + '\n');
}

interface AddOptions {
  times: string;
  param: Record<string, unknown>;
  data?: string;
}

/** `ferry session create|add|start|kill|show|results`. */
export function sessionCommands(session: Command): void {
  session
    .command('create')
    .description('make a session: prints its id')
    .action(async (_opts: unknown, cmd: Command) => {
      const { id } = await client(cmd).createSession();
      process.stdout.write(`${id}\n`);
    });

  session
    .command('add <id> <fn>')
    .description('append calls of a function (`name` or `name@version`): held until the session starts, run at once after; prints their ids')
    .option('-n, --times <n>', `how many calls with these params (1..${MAX_APPEND})`, '1')
    .option('-p, --param <key=value>', 'a parameter (repeatable)', (v: string, acc: Record<string, unknown>) => parseParam(v, acc), {})
    .option('-d, --data <json>', 'all parameters as JSON, or @file.json')
    .addHelpText(
      'after',
      `
Examples:
  s=$(ferry session create)
  ferry session add "$s" dice -n 10 -p roll=4d6
  ferry session add "$s" etl@2 -d @input.json
  ferry session start "$s"; ferry session results "$s"`,
    )
    .action(async (id: string, fn: string, opts: AddOptions, cmd: Command) => {
      const times = Number(opts.times);
      if (!Number.isInteger(times) || times < 1 || times > MAX_APPEND) throw usage(`--times must be a whole number from 1 to ${MAX_APPEND}, got "${opts.times}"`);
      if (opts.data && Object.keys(opts.param).length > 0) throw usage('use -p or -d, not both');
      const params = opts.data ? await parseData(opts.data) : opts.param;
      const { ids } = await client(cmd).appendSessionCalls(id, Array.from({ length: times }, () => ({ function: fn, params })));
      process.stdout.write(globals(cmd).json ? JSON.stringify({ ids }, null, 2) + '\n' : ids.join('\n') + '\n');
    });

  session
    .command('start <id>')
    .description('run every call the session holds; calls added later run at once')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      printSession(globals(cmd).json, await client(cmd).startSession(id));
    });

  session
    .command('kill <id>')
    .description('kill a session: waiting calls are cancelled, running ones killed, no more can be added')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      printSession(globals(cmd).json, await client(cmd).killSession(id));
    });

  session
    .command('show [id]')
    .description('one session: its state and calls per status; without an id, the newest sessions')
    .option('--limit <n>', 'how many sessions to list (default 20, at most 1000)', '20')
    .action(async (id: string | undefined, opts: { limit: string }, cmd: Command) => {
      const api = client(cmd);
      const { json } = globals(cmd);
      if (id !== undefined) return printSession(json, await api.getSession(id));
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw usage(`--limit must be a whole number from 1 to 1000, got "${opts.limit}"`);
      const page = await api.listSessions({ limit });
      show(json, page, ['id', 'state', 'calls', 'total', 'created'], page.sessions.map((s) => [s.id, s.state, countsText(s), s.total, ago(s.createdAt)]));
    });

  session
    .command('results <id>')
    .description('the next page of results (every call ended since the last page, in the order they ended); --page N reads a page again')
    .option('--page <n>', 'read page N again instead of making the next one')
    .action(async (id: string, opts: { page?: string }, cmd: Command) => {
      const api = client(cmd);
      if (opts.page !== undefined && !/^[1-9]\d*$/.test(opts.page)) throw usage(`--page must be a whole number from 1, got "${opts.page}"`);
      const page = opts.page === undefined ? await api.nextSessionResults(id) : await api.getSessionResults(id, Number(opts.page));
      const { json } = globals(cmd);
      if (!json) process.stdout.write(page.page === null ? 'no call ended since the last page\n' : `page ${page.page}\n`);
      show(
        json,
        page,
        ['seq', 'call', 'function', 'status', 'result'],
        page.calls.map((c) => [c.finishSeq ?? '-', c.id, `${c.funcName}@${c.version}`, c.status, c.error ? `${c.error.code}: ${c.error.message}` : JSON.stringify(c.result).slice(0, 60)]),
      );
    });
}
