import { setImmediate as nextTurn } from 'node:timers/promises';
import { ENDED_STATUSES } from '../call-rules.js';
import type { Calls } from './calls.js';
import { END, keys } from './keys.js';
import type { Store } from './store.js';
import type { BatchOp } from './write-queue.js';

/** Ended calls by time (`ie!`) exist from this index version on. */
const ENDED_INDEX = 2;
/** Calls by node (`in!`) exist from this index version on. */
const NODE_INDEX = 3;
/**
 * Bumped when an index is added that calls already stored lack; each backfill above the version
 * a store records then runs once. A new store starts at it (it holds no call to backfill).
 */
const INDEX_VERSION = NODE_INDEX;
const INDEX_MARK = keys.meta('indexVersion');

const versionOf = (store: Store): number => (store.db.getSync(INDEX_MARK) as number | undefined) ?? 0;

/** With a store's first call: the store then has every index there is, and nothing to backfill. */
export const firstCallOps = (store: Store, callNum: number): BatchOp[] =>
  callNum === 1 && store.db.getSync(INDEX_MARK) === undefined ? [{ type: 'put', key: INDEX_MARK, value: INDEX_VERSION }] : [];

/** Whether every stored call has its `in!` (node) entry: until then a list by node reads records. */
export const nodeIndexReady = (store: Store): boolean => versionOf(store) >= NODE_INDEX;

/**
 * Reindexes the calls under `prefix` (an index of calls), a batch at a time, yielding to the event
 * loop between batches; only entries under `only` are written. False when `stopped` cut it short.
 */
async function reindexUnder(calls: Calls, store: Store, prefix: string, only: string, batch: number, stopped: () => boolean): Promise<boolean> {
  let gt: string | undefined;
  for (;;) {
    if (stopped()) return false;
    const slice = await store.entriesBetween<string>(prefix, { gt, lt: prefix + END, limit: batch });
    if (slice.length === 0) return true;
    await calls.reindex(
      slice.map(([, id]) => id),
      only,
    );
    gt = slice[slice.length - 1]?.[0];
    if (slice.length < batch) return true;
    await nextTurn();
  }
}

/**
 * Gives calls stored before an index existed their entries: the `ie!` (ended by time) entries of
 * every call under an ended status, so retention can find them, then the `in!` (node) entries of
 * every call. Runs once per store (a mark records the version reached); calls written later are
 * indexed by their own writes. Returns false when `stopped` cut it short.
 */
export async function backfillIndexes(store: Store, calls: Calls, batch: number, stopped: () => boolean): Promise<boolean> {
  const version = versionOf(store);
  if (version >= INDEX_VERSION) return true;
  if (version < ENDED_INDEX) {
    for (const status of ENDED_STATUSES) {
      if (!(await reindexUnder(calls, store, keys.byStatusPrefix(status), keys.byEndPrefix, batch, stopped))) return false;
    }
    await store.write([{ type: 'put', key: INDEX_MARK, value: ENDED_INDEX }]);
  }
  if (!(await reindexUnder(calls, store, keys.byNumPrefix, keys.byNodeAll, batch, stopped))) return false;
  await store.write([{ type: 'put', key: INDEX_MARK, value: NODE_INDEX }]);
  return true;
}
