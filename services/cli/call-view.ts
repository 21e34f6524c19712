import type { Call } from '../../shared/protocol/domain.js';
import type { CallRecord, Progress } from './call-events.js';
import { CliError, Exit } from './cli-error.js';
import { ago, duration, show } from './output.js';

export const FINISHED = new Set(['DONE', 'ERROR', 'TIMEOUT', 'KILLED', 'CANCELLED']);

/** A call by id, or by callNum when all digits. */
export const callPath = (ref: string): string => `/v1/calls/${encodeURIComponent(ref)}`;

export function showCalls(json: boolean, calls: Call[], extra: Record<string, unknown> = {}): void {
  show(
    json,
    { calls, ...extra },
    ['#', 'id', 'function', 'status', 'attempt', 'node', 'created', 'took'],
    calls.map((c) => [c.callNum, c.id, `${c.funcName}@${c.version}`, c.status, c.attempt, c.workerId ?? '-', ago(c.createdAt), duration(c.startedAt, c.finishedAt)]),
  );
}

export function showCall(json: boolean, c: CallRecord): void {
  if (json) {
    process.stdout.write(JSON.stringify(c, null, 2) + '\n');
    return;
  }
  const lines = [
    ['call', `${c.callNum} (${c.id})`],
    ['function', `${c.funcName}@${c.version}`],
    ['status', c.status + (c.error ? ` — ${c.error.code}: ${c.error.message}` : '')],
    ['attempt', String(c.attempt)],
    ['node', c.workerId ?? '-'],
    ['params', JSON.stringify(c.params)],
    ['result', c.result === '' ? '-' : c.result],
    ['created', new Date(c.createdAt).toISOString()],
    ['took', duration(c.startedAt, c.finishedAt)],
  ];
  if (c.progress !== null) lines.push(['progress', progressText(c.progress)]);
  if (c.metrics) lines.push(['metrics', metricsText(c.metrics)]);
  const width = Math.max(...lines.map(([k]) => k!.length));
  process.stdout.write(lines.map(([k, v]) => `${k!.padEnd(width)}  ${v}`).join('\n') + '\n');
}

/** Why a call that did not end DONE fails the command: its status and error, and for people its stderr. */
export function callFailed(json: boolean, c: CallRecord): CliError {
  const stderr = c.logs?.stderr ? `\n${c.logs.stderr.trimEnd()}` : '';
  return new CliError(`call ${c.callNum} ended ${c.status}: ${c.error ? `${c.error.code}: ${c.error.message}` : 'no detail'}${json ? '' : stderr}`);
}

/** Prints a finished call's outcome the way `invoke` and `wait` end: result, or error + stderr. */
export function finish(json: boolean, c: CallRecord): never {
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
