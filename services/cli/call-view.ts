import type { Call } from '../../shared/protocol/domain.js';
import type { Progress } from '../../packages/client/src/index.js';
import { CliError, Exit } from './cli-error.js';
import { untilText } from './duration.js';
import { ago, duration, show } from './output.js';

export const FINISHED = new Set(['DONE', 'ERROR', 'TIMEOUT', 'KILLED', 'CANCELLED']);

/**
 * The status column of a call listing: the status, `PENDING, next attempt in 12s` while a retry
 * waits out its back-off, and `ERROR, dead letter` for a call that ended with its attempts used
 * up (left out where every row is one: `markDeadLetters` false).
 */
export function statusCell(c: Call, markDeadLetters = true, now = Date.now()): string {
  if (c.status === 'PENDING' && typeof c.nextAttemptAt === 'number') return `PENDING, next attempt ${untilText(c.nextAttemptAt, now)}`;
  if (c.deadLetter === true && markDeadLetters) return `${c.status}, dead letter`;
  return c.status;
}

/** Prints calls as `ferry calls` does: a table, or `{ calls, …extra }` as JSON. */
export function showCalls(json: boolean, calls: Call[], extra: Record<string, unknown> = {}, markDeadLetters = true): void {
  show(
    json,
    { calls, ...extra },
    ['#', 'id', 'function', 'status', 'attempt', 'node', 'created', 'took'],
    calls.map((c) => [c.callNum, c.id, `${c.funcName}@${c.version}`, statusCell(c, markDeadLetters), c.attempt, c.workerId ?? '-', ago(c.createdAt), duration(c.startedAt, c.finishedAt)]),
  );
}

/** What `ferry call` says after the status: why a call waits, and what to run next. */
function statusText(c: Call): string {
  if (c.error) return `${c.status} — ${c.error.code}: ${c.error.message}`;
  if (c.status === 'HELD') return `HELD — not run until \`ferry dispatch ${c.callNum}\``;
  return c.status;
}

/** `ferry call`'s lines, key and value; the job-engine lines only where they say something. */
export function callLines(c: Call, now = Date.now()): [string, string][] {
  const lines: [string, string][] = [
    ['call', `${c.callNum} (${c.id})`],
    ['function', `${c.funcName}@${c.version}`],
    ['status', statusText(c)],
    ['attempt', String(c.attempt)],
  ];
  if (c.status === 'PENDING' && typeof c.nextAttemptAt === 'number') lines.push(['retry', `next attempt ${untilText(c.nextAttemptAt, now)}`]);
  if (typeof c.failures === 'number' && c.failures > 0) lines.push(['failures', String(c.failures)]);
  if (c.deadLetter === true) lines.push(['dead letter', `yes, its attempts are used up: \`ferry retry ${c.callNum}\` runs it again`]);
  lines.push(
    ['node', c.workerId ?? '-'],
    ['params', JSON.stringify(c.params)],
    ['result', c.result === '' ? '-' : c.result],
    ['created', new Date(c.createdAt).toISOString()],
    ['took', duration(c.startedAt, c.finishedAt)],
  );
  if (c.idempotencyKey) lines.push(['idempotency', c.idempotencyKey]);
  if (c.invokedBy) lines.push(['invoker', `key ${c.invokedBy}`]);
  // What to grep the daemons' logs for (see "Tracing a call" in the README).
  if (c.requestId) lines.push(['request', c.requestId]);
  if (c.progress !== null) lines.push(['progress', progressText(c.progress)]);
  if (c.metrics) lines.push(['metrics', metricsText(c.metrics)]);
  return lines;
}

export function showCall(json: boolean, c: Call): void {
  if (json) {
    process.stdout.write(JSON.stringify(c, null, 2) + '\n');
    return;
  }
  const lines = callLines(c);
  const width = Math.max(...lines.map(([k]) => k.length));
  process.stdout.write(lines.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n') + '\n');
}

/** Why a call that did not end DONE fails the command: its status and error, and for people its stderr. */
export function callFailed(json: boolean, c: Call): CliError {
  const stderr = c.logs?.stderr ? `\n${c.logs.stderr.trimEnd()}` : '';
  return new CliError(`call ${c.callNum} ended ${c.status}: ${c.error ? `${c.error.code}: ${c.error.message}` : 'no detail'}${json ? '' : stderr}`);
}

/** Prints a finished call's outcome the way `invoke` and `wait` end: result, or error + stderr. */
export function finish(json: boolean, c: Call): never {
  if (json) process.stdout.write(JSON.stringify(c, null, 2) + '\n');
  else if (c.status === 'DONE') process.stdout.write(c.result + (c.result.endsWith('\n') ? '' : '\n'));
  if (c.status === 'DONE') process.exit(Exit.OK);
  throw callFailed(json, c);
}

/** `42%`, or `3/10 (30%)` for a `{ current, total }` count; any other shape as its JSON. */
export function progressText(p: Progress): string {
  if (typeof p === 'number') return `${Math.round(p * 100)}%`;
  const { current, total } = p;
  if (typeof current === 'number' && typeof total === 'number') {
    return total > 0 ? `${current}/${total} (${Math.round((current / total) * 100)}%)` : `${current}/${total}`;
  }
  return JSON.stringify(p);
}

/** `rows=120 bytes=4096` */
export const metricsText = (m: Record<string, number>): string =>
  Object.entries(m)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
