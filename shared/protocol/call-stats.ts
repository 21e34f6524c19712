import type { CallStatus } from './domain.js';

/**
 * Calls started and ended per fixed slice of time, kept by the DB as calls change, so the
 * history outlives the api and survives retention removing the calls themselves.
 */

/** Width of one stored slice, in ms: the finest step a series can have. */
export const STATS_BUCKET_MS = 10_000;
/** Slices are kept this long, in ms: the longest window a series can cover. */
export const STATS_KEEP_MS = 7 * 24 * 3600_000;

/** Statuses counted as a failure: the function (or its node) failed, or it was killed while running. */
export const FAILED_STATUSES: ReadonlySet<CallStatus> = new Set<CallStatus>(['ERROR', 'TIMEOUT', 'KILLED']);

/**
 * Durations in ms counted per bucket, by bucket index: bucket i holds durations in
 * (GROWTH^(i-1), GROWTH^i], so a percentile read back is at most 5 % above the true one, and
 * slices merge by adding counts, however many calls they hold.
 */
export type DurationHistogram = Record<string, number>;

const GROWTH = 1.05;

/** The histogram bucket of a duration in ms (every duration of 1 ms or less: bucket 0). */
export function durationBucket(ms: number): number {
  return ms <= 1 ? 0 : Math.ceil(Math.log(ms) / Math.log(GROWTH));
}

/** One stored slice: calls that started and ended in [t, t + STATS_BUCKET_MS). */
export interface StatsBucket {
  /** Start of the slice, epoch ms, a multiple of {@link STATS_BUCKET_MS}. */
  t: number;
  /** Executions that started. */
  started: number;
  /** Calls that ended, in any final status. */
  ended: number;
  /** Calls that ended in a {@link FAILED_STATUSES} status. */
  failed: number;
  /** finishedAt - startedAt of the ended calls that started. */
  durations: DurationHistogram;
}

/** Adds `from`'s counts into `into`. */
export function addHistogram(into: DurationHistogram, from: DurationHistogram): void {
  for (const [bucket, n] of Object.entries(from)) into[bucket] = (into[bucket] ?? 0) + n;
}

/** The `p`-quantile (0 < p ≤ 1) of a histogram in ms (the upper end of its bucket); null when it is empty. */
export function percentileMs(h: DurationHistogram, p: number): number | null {
  const buckets = Object.entries(h)
    .map(([bucket, n]) => [Number(bucket), n] as const)
    .sort((a, b) => a[0] - b[0]);
  const total = buckets.reduce((sum, [, n]) => sum + n, 0);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(p * total));
  let seen = 0;
  for (const [bucket, n] of buckets) {
    seen += n;
    if (seen >= rank) return Math.round(GROWTH ** bucket);
  }
  return null;
}
