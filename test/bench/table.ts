/** One row of a benchmark table: what is measured, the figure, its target, and the anchor it is compared with. */
export type Row = [what: string, figure: string, target: string, anchor: string];

/** Rows as an aligned table on stdout: what, figure, target, anchor. */
export function printTable(quick: boolean, title: string, seconds: number, rows: Row[]): void {
  const width = (i: number): number => Math.max(...rows.map((r) => r[i]!.length));
  const [w, v, t] = [width(0), width(1), width(2)];
  process.stdout.write(`${title}${quick ? ' (quick)' : ''}, ${new Date().toISOString().slice(0, 10)}, ${seconds} s\n`);
  process.stdout.write(`  ${'what'.padEnd(w)}  ${'figure'.padEnd(v)}  ${'target'.padEnd(t)}  anchor\n`);
  for (const [k, x, target, anchor] of rows) process.stdout.write(`${`  ${k.padEnd(w)}  ${x.padEnd(v)}  ${target.padEnd(t)}  ${anchor}`.trimEnd()}\n`);
}
