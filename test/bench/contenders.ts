import { median, percentile, round } from './stats.js';

/** Something that runs one no-op unit of work end to end (a Ferry call, a BullMQ job). */
export interface Contender {
  name: string;
  /** A fresh client (its own connection); the returned function does one unit and resolves when done. */
  client(): Promise<() => Promise<void>>;
  /** Resolves once background work the warm-up set off is over (for Ferry: image bakes, sandbox starts). */
  settle?(): Promise<void>;
}

export interface LatencyFigures {
  p50Ms: number;
  p99Ms: number;
}

/** Sequential round trips with one client. */
export async function latencies(c: Contender, n: number, into: number[] = []): Promise<number[]> {
  const one = await c.client();
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await one();
    into.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return into;
}

export function summarize(ms: number[]): LatencyFigures {
  return { p50Ms: round(percentile(ms, 50), 3), p99Ms: round(percentile(ms, 99), 3) };
}

/** Units per second with `clients` in flight, `total` units in all. */
export async function throughput(c: Contender, clients: number, total: number): Promise<number> {
  const fns = await Promise.all(Array.from({ length: clients }, () => c.client()));
  let next = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    fns.map(async (one) => {
      while (next < total) {
        next += 1;
        await one();
      }
    }),
  );
  return Math.round(total / (Number(process.hrtime.bigint() - start) / 1e9));
}

/**
 * Measures contenders side by side: latency rounds and throughput runs alternate between them,
 * so drift of a noisy machine hits each the same.
 */
export async function sideBySide(
  contenders: Contender[],
  opts: { rounds: number; perRound: number; clients: number[]; total: number },
): Promise<Map<string, { latency: LatencyFigures; perSec: Record<number, number> }>> {
  // Untimed: every contender's code paths hot and, for Ferry, a warm container per client slot.
  for (const c of contenders) await throughput(c, Math.max(...opts.clients), Math.min(opts.total, 2_000));
  for (const c of contenders) await c.settle?.();
  const lat = new Map(contenders.map((c) => [c.name, [] as number[]]));
  for (let r = 0; r < opts.rounds; r++) {
    for (const c of contenders) await latencies(c, opts.perRound, lat.get(c.name));
  }
  // Throughput too in alternating rounds, the median round kept: one slow spell of a noisy
  // machine moves one round, not the figure.
  const rates = new Map(contenders.map((c) => [c.name, new Map(opts.clients.map((n) => [n, [] as number[]]))]));
  for (let r = 0; r < opts.rounds; r++) {
    for (const clients of opts.clients) {
      for (const c of contenders) rates.get(c.name)!.get(clients)!.push(await throughput(c, clients, Math.ceil(opts.total / opts.rounds)));
    }
  }
  const perSec = new Map(
    contenders.map((c) => [c.name, Object.fromEntries(opts.clients.map((n) => [n, Math.round(median(rates.get(c.name)!.get(n)!))]))]),
  );
  return new Map(contenders.map((c) => [c.name, { latency: summarize(lat.get(c.name)!), perSec: perSec.get(c.name)! }]));
}
