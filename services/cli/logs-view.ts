import type { CallLogs } from '../../packages/client/src/index.js';

/** The ctx.log lines a finished call kept (`logs.log`, one per line). */
export function storedLogLines(logs: Pick<CallLogs, 'log'>): string[] {
  const { log } = logs;
  return log === undefined || log === '' ? [] : log.replace(/\r?\n$/, '').split(/\r?\n/);
}

/** `stored` without the lines in `shown`, each shown line taking out one stored line equal to it. */
export function unshownLines(stored: string[], shown: string[]): string[] {
  const left = new Map<string, number>();
  for (const line of shown) left.set(line, (left.get(line) ?? 0) + 1);
  return stored.filter((line) => {
    const n = left.get(line) ?? 0;
    if (n > 0) left.set(line, n - 1);
    return n === 0;
  });
}

/**
 * Prints a call's logs as `ferry logs` does: its ctx.log lines and stdout on stdout, stderr on
 * stderr, and a note when the node cut the output. The ctx.log lines in `shown` were printed
 * already, as they happened (`ferry logs -f`), and are not printed again.
 */
export function printLogs(logs: CallLogs, shown: string[] = []): void {
  for (const line of unshownLines(storedLogLines(logs), shown)) process.stdout.write(line + '\n');
  process.stdout.write(logs.stdout);
  process.stderr.write(logs.stderr);
  if (logs.truncated) process.stderr.write("[output was cut at the node's cap]\n");
}
