import type { Command } from 'commander';
import { CliError, usage } from '../cli-error.js';
import { client, globals } from '../context.js';
import { show } from '../output.js';
import type { BatchView } from '../../../packages/client/src/index.js';
import { followBatch } from '../batch-follow.js';
import { parseData, parseParam } from './invoke.js';

const countsText = (b: BatchView): string =>
  Object.entries(b.counts)
    .map(([status, n]) => `${n} ${status}`)
    .join(', ') || '-';

/** `batch <id>: done — 10 DONE of 10, 2.4s` (and why, when it failed) */
const batchLine = (b: BatchView): string =>
  `batch ${b.id}: ${b.state} — ${countsText(b)} of ${b.numBatches}, ${b.elapsedSecs.toFixed(1)}s${b.error ? ` (${b.error})` : ''}`;

/** A whole number from `min`, or a usage error naming the option. */
function whole(name: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw usage(`--${name} must be a whole number from ${min}, got "${value}"`);
  return n;
}

interface StartOptions {
  start: string;
  end: string;
  batchSize: string;
  parallelism: string;
  timeout: string;
  ttl?: string;
  tolerate?: string;
  param: Record<string, unknown>;
  data?: string;
  follow?: boolean;
}

/** Prints a job as `batch show` does; exit 1 when it failed. */
function showBatch(cmd: Command, b: BatchView): void {
  if (globals(cmd).json) process.stdout.write(JSON.stringify(b, null, 2) + '\n');
  else process.stdout.write(batchLine(b) + (b.combinerResult !== null ? `\n${JSON.stringify(b.combinerResult)}` : '') + '\n');
  if (b.state === 'failed') throw new CliError(`batch ${b.id} failed${b.error ? `: ${b.error}` : ''}`);
}

/** `ferry batch start|show|results|cancel`. */
export function batchCommands(batch: Command): void {
  batch
    .command('start <worker> <combiner>')
    .description('start a batch job over [--start, --end): prints its id')
    .requiredOption('--end <n>', 'end of the index range (exclusive)')
    .option('--start <n>', 'start of the index range', '0')
    .requiredOption('--batch-size <n>', 'indexes per batch')
    .option('--parallelism <n>', 'most worker calls unfinished at once', '10')
    .option('--timeout <secs>', 'past it, unfinished batches are cancelled and the combiner called', '3600')
    .option('--ttl <secs>', 'how long partial results are kept (default 3600)')
    .option('--tolerate <n|n%>', 'failed batches that still let the combiner run (default 0)')
    .option('-p, --param <key=value>', 'a job parameter (repeatable)', (v: string, acc: Record<string, unknown>) => parseParam(v, acc), {})
    .option('-d, --data <json>', 'all job parameters as JSON, or @file.json')
    .option('--follow', 'show a bar of batches ended until the job ends, then the job (exit 1 when it failed)')
    .addHelpText('after', '\nExamples:\n  ferry batch start sum-range sum-results --end 1000 --batch-size 100 --parallelism 3\n  ferry batch start sum-range sum-results --end 1000 --batch-size 100 --follow')
    .action(async (worker: string, combiner: string, opts: StartOptions, cmd: Command) => {
      if (opts.data && Object.keys(opts.param).length > 0) throw usage('use -p or -d, not both');
      const tolerate = opts.tolerate === undefined ? undefined : opts.tolerate.endsWith('%') ? opts.tolerate : whole('tolerate', opts.tolerate, 0);
      const body = {
        worker,
        combiner,
        startIndex: whole('start', opts.start, 0),
        endIndex: whole('end', opts.end, 1),
        batchSize: whole('batch-size', opts.batchSize, 1),
        maxParallelism: whole('parallelism', opts.parallelism, 1),
        timeoutSecs: whole('timeout', opts.timeout, 1),
        params: opts.data ? await parseData(opts.data) : opts.param,
        ...(opts.ttl !== undefined ? { resultTtlSecs: whole('ttl', opts.ttl, 1) } : {}),
        ...(tolerate !== undefined ? { toleratedFailures: tolerate } : {}),
      };
      const created = await client(cmd).createBatch(body);
      if (opts.follow) return showBatch(cmd, await followBatch(client(cmd), created.id));
      process.stdout.write(globals(cmd).json ? JSON.stringify(created, null, 2) + '\n' : `${created.id}\n`);
    });

  batch
    .command('show <id>')
    .description("one batch job: its state, counts, elapsed time and the combiner's result (exit 1 when it failed)")
    .option('--follow', 'show a bar of batches ended until the job ends first')
    .action(async (id: string, opts: { follow?: boolean }, cmd: Command) => {
      showBatch(cmd, opts.follow ? await followBatch(client(cmd), id) : await client(cmd).getBatch(id));
    });

  batch
    .command('results <id>')
    .description('its partial results, the latest made first')
    .option('--limit <n>', 'how many (default 100, at most 1000)', '100')
    .action(async (id: string, opts: { limit: string }, cmd: Command) => {
      const limit = whole('limit', opts.limit, 1);
      if (limit > 1000) throw usage(`--limit must be at most 1000, got "${opts.limit}"`);
      const page = await client(cmd).listBatchResults(id, { limit });
      show(
        globals(cmd).json,
        page,
        ['batch', 'range', 'status', 'result'],
        page.results.map((r) => [r.batchId, `${r.startIndex}..${r.endIndex}`, r.status, r.expired ? '(expired)' : JSON.stringify(r.result)]),
      );
    });

  batch
    .command('cancel <id>')
    .description('cancel a batch job: its unfinished batches are cancelled and no combiner runs')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const b = await client(cmd).cancelBatch(id);
      process.stdout.write(globals(cmd).json ? JSON.stringify(b, null, 2) + '\n' : batchLine(b) + '\n');
    });
}
