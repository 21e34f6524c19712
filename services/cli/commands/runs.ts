import type { Command } from 'commander';
import type { RunDetail, RunView } from '../../../shared/protocol/run-view.js';
import { CliError, usage } from '../cli-error.js';
import { client, globals } from '../context.js';
import { ago, duration, show } from '../output.js';
import { followRun } from '../run-follow.js';
import { parseData, parseParam } from './invoke.js';

const MAX_TIMES = 10_000;

/** `12 DONE, 1 ERROR` */
const countsText = (run: RunView): string =>
  Object.entries(run.counts)
    .map(([status, n]) => `${n} ${status}`)
    .join(', ') || '-';

/** `run <id>: COMPLETE — 10 DONE of 10, 412ms` */
const runLine = (run: RunView): string => `run ${run.id}: ${run.status} — ${countsText(run)} of ${run.times}, ${duration(run.start, run.end)}`;

interface RunOptions {
  times: string;
  param: Record<string, unknown>;
  data?: string;
  follow?: boolean;
}

export function runCommand(cmd: Command): void {
  cmd
    .requiredOption('-n, --times <n>', `how many calls (1..${MAX_TIMES})`)
    .option('-p, --param <key=value>', 'a parameter of every call (repeatable)', (v: string, acc: Record<string, unknown>) => parseParam(v, acc), {})
    .option('-d, --data <json>', 'all parameters as JSON, or @file.json')
    .option('--follow', 'show a bar of calls ended until the run ends')
    .addHelpText(
      'after',
      `
Examples:
  ferry run dice --times 100 -p roll=4d6
  ferry run dice@2 --times 10 -d '{"roll":"2d20"}' --follow
  ferry run-show "$(ferry run dice --times 5)" --details`,
    )
    .action(async (fn: string, opts: RunOptions) => {
      const times = Number(opts.times);
      if (!Number.isInteger(times) || times < 1 || times > MAX_TIMES) throw usage(`--times must be a whole number from 1 to ${MAX_TIMES}, got "${opts.times}"`);
      if (opts.data && Object.keys(opts.param).length > 0) throw usage('use -p or -d, not both');
      const params = opts.data ? await parseData(opts.data) : opts.param;
      const api = client(cmd);
      const { json } = globals(cmd);
      const { id } = await api.createRun(fn, { times, params });
      if (!opts.follow) {
        process.stdout.write(json ? JSON.stringify(await api.getRun(id), null, 2) + '\n' : `${id}\n`);
        return;
      }
      const run = await followRun(api, id);
      process.stdout.write(json ? JSON.stringify(run, null, 2) + '\n' : runLine(run) + '\n');
      if (run.status !== 'COMPLETE') throw new CliError(`run ${run.id} ended ${run.status}`);
    });
}

export function runsCommand(cmd: Command): void {
  cmd
    .option('--limit <n>', 'how many (default 20, at most 1000)', '20')
    .action(async (opts: { limit: string }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw usage(`--limit must be a whole number from 1 to 1000, got "${opts.limit}"`);
      const page = await client(cmd).listRuns({ limit });
      show(
        globals(cmd).json,
        page,
        ['id', 'function', 'times', 'status', 'calls', 'submitted', 'duration'],
        page.runs.map((r) => [r.id, r.function, r.times, r.status, countsText(r), ago(r.submittedAt), duration(r.start, r.end)]),
      );
    });
}

export function runShowCommand(cmd: Command): void {
  cmd
    .option('--details', 'also list every call of the run')
    .action(async (id: string, opts: { details?: boolean }) => {
      const api = client(cmd);
      const { json } = globals(cmd);
      const run = await api.getRun(id);
      const details: RunDetail[] = [];
      for (let cursor: string | null = null, first = true; opts.details && (first || cursor); first = false) {
        const page = await api.listRunDetails(id, { limit: 1000, ...(cursor ? { cursor } : {}) });
        details.push(...page.details);
        cursor = page.nextCursor;
      }
      details.sort((a, b) => a.detailId - b.detailId);
      if (json) {
        process.stdout.write(JSON.stringify(opts.details ? { ...run, details } : run, null, 2) + '\n');
        return;
      }
      process.stdout.write(runLine(run) + '\n');
      if (opts.details) show(false, details, ['detail', 'call', 'status', 'duration'], details.map((d) => [d.detailId, d.callId, d.status, duration(d.start, d.end)]));
    });
}
