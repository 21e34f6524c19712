import { setImmediate as nextTurn } from 'node:timers/promises';
import { ENDED_STATUSES } from './call-indexes.js';
import type { Calls } from './calls.js';
import { END, keys } from './keys.js';
import type { Store } from './store.js';

/** Bumped when an index is added that calls already stored lack; the backfill then runs once. */
const INDEX_VERSION = 2;
const MARK = keys.meta('indexVersion');

/**
 * Gives calls stored before the `ie!` (ended by time) index existed their entries, so retention
 * can find them: every call under an ended status is reindexed from its record, a batch at a
 * time, yielding to the event loop between batches. Runs once per store (a mark records it);
 * calls ended later are indexed by their own writes. Returns false when `stopped` cut it short.
 */
export async function backfillEndedIndex(store: Store, calls: Calls, batch: number, stopped: () => boolean): Promise<boolean> {
  if (((await store.get<number>(MARK)) ?? 0) >= INDEX_VERSION) return true;
  for (const status of ENDED_STATUSES) {
    const prefix = keys.byStatusPrefix(status);
    let gt: string | undefined;
    for (;;) {
      if (stopped()) return false;
      const slice = await store.entriesBetween<string>(prefix, { gt, lt: prefix + END, limit: batch });
      if (slice.length === 0) break;
      await calls.reindex(slice.map(([, id]) => id));
      gt = slice[slice.length - 1]?.[0];
      if (slice.length < batch) break;
      await nextTurn();
    }
  }
  await store.write([{ type: 'put', key: MARK, value: INDEX_VERSION }]);
  return true;
}
