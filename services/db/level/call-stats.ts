import type { StatsBucket } from '../../../shared/protocol/call-stats.js';
import type { Call } from '../../../shared/protocol/domain.js';
import { addStats, emptySlice, sliceStart, statsChanges } from '../stats-rules.js';
import { keys } from './keys.js';
import type { Store } from './store.js';
import type { BatchOp } from './write-queue.js';

/** Slices older than this (by their start) leave memory once written; a later change reads them back. */
const HOT_MS = 3600_000;
/** Memory holds at most about this many slices before the cold ones go. */
const HOT_SLICES = 1_000;

/**
 * The per-slice call counts ({@link StatsBucket}). A call's change moves its slices in memory and
 * answers the puts that carry them; the caller writes them in the batch of the call itself, so the
 * counts and the calls never disagree, and a slice's latest put is the last one written (batches
 * are written in the order they are asked for).
 */
export class CallStats {
  private readonly hot = new Map<number, StatsBucket>();

  constructor(private readonly store: Store) {}

  /** The puts of the slices `before` → `after` moves: a start (a new `startedAt`), an end (into a final status). */
  follow(before: Call | null, after: Call): BatchOp[] {
    const changes = statsChanges(before, after);
    if (changes.length === 0) return [];
    const touched = changes.map((change) => {
      const slice = this.slice(change.t);
      addStats(slice, change);
      return slice;
    });
    this.cool();
    return touched.map((slice) => ({ type: 'put', key: keys.statsSlice(slice.t), value: { ...slice, durations: { ...slice.durations } } }));
  }

  /** Slices whose start is in [fromMs, toMs), oldest first; slices no call touched are absent. */
  async read(fromMs: number, toMs: number): Promise<StatsBucket[]> {
    const stored = (await this.store.db.values({ gte: keys.statsSlice(sliceStart(fromMs)), lt: keys.statsSlice(toMs) }).all()) as StatsBucket[];
    const byStart = new Map(stored.map((s) => [s.t, s]));
    // Memory is never behind the store: a slice's put leaves with the batch its change is in.
    for (const [t, slice] of this.hot) if (t >= sliceStart(fromMs) && t < toMs) byStart.set(t, slice);
    return [...byStart.values()].sort((a, b) => a.t - b.t);
  }

  /** Removes up to `limit` slices that started before `cutoff`; answers how many went. */
  async prune(cutoff: number, limit: number): Promise<number> {
    const old = await this.store.keysUnder(keys.statsSlicePrefix, { limit, lt: keys.statsSlice(sliceStart(cutoff)) });
    if (old.length > 0) await this.store.write(old.map((key) => ({ type: 'del' as const, key })));
    return old.length;
  }

  private slice(ms: number): StatsBucket {
    const t = sliceStart(ms);
    let slice = this.hot.get(t);
    if (!slice) {
      // Synchronous read: the change and its put must stay in one turn of the event loop.
      slice = (this.store.db.getSync(keys.statsSlice(t)) as StatsBucket | undefined) ?? emptySlice(t);
      this.hot.set(t, slice);
    }
    return slice;
  }

  /** Lets old slices go once memory holds many; theirs were written long ago. */
  private cool(): void {
    if (this.hot.size <= HOT_SLICES) return;
    const cutoff = Date.now() - HOT_MS;
    for (const t of this.hot.keys()) if (t < cutoff) this.hot.delete(t);
  }
}
