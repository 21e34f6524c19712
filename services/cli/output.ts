import { createRequire } from 'node:module';

// The table module is loaded when a table is drawn, not by every command that imports this file.
const require = createRequire(import.meta.url);

/** Prints `rows` as a table for people, or `data` as JSON for scripts. */
export function show(json: boolean, data: unknown, head: string[], rows: (string | number)[][]): void {
  if (json) {
    process.stdout.write(JSON.stringify(data, null, 2) + '\n');
    return;
  }
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const Table = require('cli-table3') as typeof import('cli-table3');
  const table = new Table({ head, style: { head: [], border: [] } });
  table.push(...rows.map((r) => r.map(String)));
  process.stdout.write(table.toString() + '\n');
}

export function ago(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  return `${Math.round(s / 3600)}h ago`;
}

export function duration(from: number | null, to: number | null): string {
  if (from === null || to === null) return '-';
  const ms = to - from;
  return ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(1)}s`;
}
