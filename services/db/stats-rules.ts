import { FAILED_STATUSES, STATS_BUCKET_MS, durationBucket, type StatsBucket } from '../../shared/protocol/call-stats.js';
import type { Call } from '../../shared/protocol/domain.js';
import { isEnded } from './call-rules.js';

export const sliceStart = (ms: number): number => Math.floor(ms / STATS_BUCKET_MS) * STATS_BUCKET_MS;

export const emptySlice = (t: number): StatsBucket => ({ t, started: 0, ended: 0, failed: 0, durations: {} });

/**
 * What a call's change from `before` (null: a new call) to `after` adds to the per-slice counts:
 * a start (a new `startedAt`) and an end (into a final status), each in its own slice (one slice
 * when both fall in it).
 */
export function statsChanges(before: Call | null, after: Call): StatsBucket[] {
  const byStart = new Map<number, StatsBucket>();
  const at = (ms: number): StatsBucket => {
    const t = sliceStart(ms);
    let slice = byStart.get(t);
    if (!slice) byStart.set(t, (slice = emptySlice(t)));
    return slice;
  };
  if (after.startedAt !== null && after.startedAt !== (before?.startedAt ?? null)) at(after.startedAt).started += 1;
  if (isEnded(after.status) && (before === null || !isEnded(before.status))) {
    const slice = at(after.finishedAt ?? Date.now());
    slice.ended += 1;
    if (FAILED_STATUSES.has(after.status)) slice.failed += 1;
    if (after.startedAt !== null && after.finishedAt !== null) {
      const bucket = durationBucket(after.finishedAt - after.startedAt);
      slice.durations[bucket] = (slice.durations[bucket] ?? 0) + 1;
    }
  }
  return [...byStart.values()];
}

/** Adds `change` into `slice` (same start). */
export function addStats(slice: StatsBucket, change: StatsBucket): void {
  slice.started += change.started;
  slice.ended += change.ended;
  slice.failed += change.failed;
  for (const [bucket, n] of Object.entries(change.durations)) slice.durations[bucket] = (slice.durations[bucket] ?? 0) + n;
}
