import type { Call } from '../../../shared/protocol/domain.js';
import { keys, padCallNum } from './keys.js';
import type { Store } from './store.js';

/**
 * The newest stored call at or below `num` (by number), or undefined when none is. A direct read
 * first: numbers are dense but where retention removed calls.
 */
async function callAtOrBelow(store: Store, num: number): Promise<Call | undefined> {
  const direct = store.db.getSync(keys.byNum(num)) as string | undefined;
  const id = direct ?? (await store.db.values({ gte: keys.byNumPrefix, lt: keys.byNum(num + 1), reverse: true, limit: 1 }).all())[0];
  return id === undefined ? undefined : (store.db.getSync(keys.call(String(id))) as Call | undefined);
}

/**
 * The lowest number above every call for which `before(createdAt)` holds: calls are numbered in
 * the order they are created and a call's `createdAt` is never earlier than the one before it
 * (see Calls.create), so `before` holds for a prefix of the numbers and a binary search finds its
 * end in about log2(calls) point reads.
 */
async function endOfPrefix(store: Store, before: (createdAt: number) => boolean): Promise<number> {
  let lo = 0;
  let hi = store.counters.lastCallNum + 1;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    const call = await callAtOrBelow(store, mid);
    if (call === undefined || before(call.createdAt)) lo = mid;
    else hi = call.callNum;
  }
  return hi;
}

/** Numbers of the calls created in [from, to] (either end open when absent): `lowest` ≤ callNum < `below`. */
export async function createdRange(store: Store, from: number | undefined, to: number | undefined): Promise<{ lowest: number; below: number }> {
  const lowest = from === undefined ? 0 : await endOfPrefix(store, (t) => t < from);
  const below = to === undefined ? store.counters.lastCallNum + 1 : await endOfPrefix(store, (t) => t <= to);
  return { lowest, below };
}

/** The key of `num` in the index under `prefix`. */
export const indexKey = (prefix: string, num: number): string => prefix + padCallNum(num);
