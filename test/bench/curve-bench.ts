import { sideBySide } from './contenders.js';
import { startFerryBench, type FerryBench } from './ferry-bench.js';
import { round } from './stats.js';
import type { Row } from './table.js';

/** Warm calls with CurveZMQ on (the default) and off, and what it costs a call. */
export interface CurveFigures {
  curve_on_p50_ms: number;
  curve_on_p99_ms: number;
  curve_on_calls_per_s: number;
  curve_off_p50_ms: number;
  curve_off_p99_ms: number;
  curve_off_calls_per_s: number;
  /** On minus off: what CurveZMQ adds to one call's round trip (HTTP → api → worker → agent and back, with its db writes). */
  curve_cost_p50_ms: number;
  curve_cost_p99_ms: number;
  /** Calls/s with CurveZMQ on over off (64 clients). */
  curve_calls_per_s_ratio: number;
}

/**
 * The python warm-call contender of `on` (a cluster with CurveZMQ, the default) beside the same
 * on a second cluster with FERRY_CURVE=off, latency rounds and throughput runs alternating
 * between them so drift of the machine hits both alike.
 */
export async function curveFigures(on: FerryBench, quick: boolean): Promise<CurveFigures> {
  const off = await startFerryBench({ curve: false });
  try {
    const side = await sideBySide([on.python, off.python], {
      rounds: quick ? 3 : 10,
      perRound: quick ? 100 : 300,
      clients: [64],
      total: quick ? 1_000 : 20_000,
    });
    const a = side.get(on.python.name)!;
    const b = side.get(off.python.name)!;
    return {
      curve_on_p50_ms: a.latency.p50Ms,
      curve_on_p99_ms: a.latency.p99Ms,
      curve_on_calls_per_s: a.perSec[64]!,
      curve_off_p50_ms: b.latency.p50Ms,
      curve_off_p99_ms: b.latency.p99Ms,
      curve_off_calls_per_s: b.perSec[64]!,
      curve_cost_p50_ms: round(a.latency.p50Ms - b.latency.p50Ms, 3),
      curve_cost_p99_ms: round(a.latency.p99Ms - b.latency.p99Ms, 3),
      curve_calls_per_s_ratio: round(a.perSec[64]! / b.perSec[64]!),
    };
  } finally {
    await off.close();
  }
}

/** Table rows of {@link curveFigures}. */
export function curveRows(f: CurveFigures): Row[] {
  return [
    [
      'warm call p50 / p99 ms, calls/s (64 clients): CurveZMQ on',
      `${f.curve_on_p50_ms} / ${f.curve_on_p99_ms}, ${f.curve_on_calls_per_s}`,
      '',
      `FERRY_CURVE=off ${f.curve_off_p50_ms} / ${f.curve_off_p99_ms}, ${f.curve_off_calls_per_s}`,
    ],
    ['CurveZMQ cost per call p50 / p99 ms; calls/s on / off', `${f.curve_cost_p50_ms} / ${f.curve_cost_p99_ms}; ${f.curve_calls_per_s_ratio}`, '', ''],
  ];
}
