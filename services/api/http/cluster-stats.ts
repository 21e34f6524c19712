import { z } from 'zod';
import {
  STATS_BUCKET_MS,
  STATS_KEEP_MS,
  addHistogram,
  percentileMs,
  type DurationHistogram,
} from '../../../shared/protocol/call-stats.js';
import { callSummary, type ClusterStatsView, type StatsStep } from '../../../shared/protocol/cluster-view.js';
import type { ApiDeps } from './deps.js';

/** An answer is served again for this long: a dashboard polling every few seconds costs one DB read per window shape. */
export const STATS_CACHE_MS = 2_000;
/** Most steps one series holds. */
const MAX_STEPS = 1_440;
/** Most recent failures answered. */
const RECENT_FAILURES = 20;
/** Window shapes whose answers are kept at once; past it the oldest go. */
const CACHED_SHAPES = 16;

const sliceSecs = STATS_BUCKET_MS / 1000;

export const statsQuery = z
  .object({
    windowSecs: z.coerce.number().int().min(sliceSecs).max(STATS_KEEP_MS / 1000).default(3600),
    stepSecs: z.coerce.number().int().min(sliceSecs).multipleOf(sliceSecs, `must be a multiple of ${sliceSecs}`).default(60),
  })
  .refine((q) => q.stepSecs <= q.windowSecs, { message: 'must not be longer than windowSecs', path: ['stepSecs'] })
  .refine((q) => Math.ceil(q.windowSecs / q.stepSecs) <= MAX_STEPS, { message: `windowSecs / stepSecs must be at most ${MAX_STEPS}`, path: ['stepSecs'] });
export type StatsQuery = z.output<typeof statsQuery>;

/**
 * `GET /v1/stats`. The series comes from per-10 s counts the DB keeps with every call change
 * (not from the calls, which retention removes, nor from the api's memory, which a restart
 * loses), so it costs one range read of at most window / 10 s small records.
 */
export class ClusterStats {
  private readonly cache = new Map<string, { at: number; view: Promise<ClusterStatsView> }>();

  constructor(private readonly deps: ApiDeps) {}

  get(query: StatsQuery): Promise<ClusterStatsView> {
    const shape = `${query.windowSecs}/${query.stepSecs}`;
    const cached = this.cache.get(shape);
    if (cached && Date.now() - cached.at < STATS_CACHE_MS) return cached.view;
    const view = this.compute(query);
    this.cache.delete(shape);
    this.cache.set(shape, { at: Date.now(), view });
    const oldest = this.cache.keys().next().value;
    if (this.cache.size > CACHED_SHAPES && oldest !== undefined) this.cache.delete(oldest);
    // A failed read is not served again.
    void view.catch(() => {
      if (this.cache.get(shape)?.view === view) this.cache.delete(shape);
    });
    return view;
  }

  private async compute({ windowSecs, stepSecs }: StatsQuery): Promise<ClusterStatsView> {
    const now = Date.now();
    const stepMs = stepSecs * 1000;
    const steps = Math.ceil(windowSecs / stepSecs);
    const end = Math.floor(now / stepMs) * stepMs + stepMs;
    const start = end - steps * stepMs;
    const stored = await this.deps.db.call('callStats', { fromMs: start, toMs: end, failures: RECENT_FAILURES });
    const sums = Array.from({ length: steps }, (_, i) => ({ t: start + i * stepMs, started: 0, ended: 0, failed: 0, durations: {} as DurationHistogram }));
    for (const slice of stored.slices) {
      const step = sums[Math.floor((slice.t - start) / stepMs)];
      if (!step) continue;
      step.started += slice.started;
      step.ended += slice.ended;
      step.failed += slice.failed;
      addHistogram(step.durations, slice.durations);
    }
    const scheduler = this.deps.scheduler;
    return {
      now,
      windowSecs,
      stepSecs,
      counts: stored.callsByStatus,
      queued: scheduler.queued,
      running: scheduler.running,
      nodesUp: scheduler.nodes.list().length,
      series: sums.map(({ durations, ...step }) => ({ ...step, p50Ms: percentileMs(durations, 0.5), p99Ms: percentileMs(durations, 0.99) })),
      recentFailures: stored.recentFailures.map(callSummary),
    };
  }
}
