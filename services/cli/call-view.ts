import type { Progress } from '../../shared/protocol/call-outcome.js';
import type { Call } from '../../shared/protocol/domain.js';
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

export function showCall(json: boolean, c: Call): void {
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
  if (c.metrics) lines.push(['metrics', JSON.stringify(c.metrics)]);
  const width = Math.max(...lines.map(([k]) => k!.length));
  process.stdout.write(lines.map(([k, v]) => `${k!.padEnd(width)}  ${v}`).join('\n') + '\n');
}

/** Prints a finished call's outcome the way `invoke` and `wait` end: result, or error + stderr. */
export function finish(json: boolean, c: Call): never {
  if (json) process.stdout.write(JSON.stringify(c, null, 2) + '\n');
  else if (c.status === 'DONE') process.stdout.write(c.result + (c.result.endsWith('\n') ? '' : '\n'));
  if (c.status === 'DONE') process.exit(Exit.OK);
  const stderr = c.logs?.stderr ? `\n${c.logs.stderr.trimEnd()}` : '';
  throw new CliError(`call ${c.callNum} ended ${c.status}: ${c.error ? `${c.error.code}: ${c.error.message}` : 'no detail'}${json ? '' : stderr}`);
}

/** `42%` for a fraction, `3/10` for `{current, total}`, else the object as JSON. */
export function progressText(p: Progress): string {
  if (typeof p === 'number') return `${Math.round(p * 100)}%`;
  if (typeof p['current'] === 'number' && typeof p['total'] === 'number') return `${p['current']}/${p['total']}`;
  return JSON.stringify(p);
}
