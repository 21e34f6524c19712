import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';

/** Calls `onEntry` with each JSON log line a daemon writes to `stream` (other lines are skipped). */
export function onLogLines(stream: Readable, onEntry: (entry: Record<string, unknown>) => void): void {
  createInterface({ input: stream }).on('line', (line) => {
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    onEntry(entry);
  });
}
