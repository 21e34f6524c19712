import type { CallPage, DbParsedContent } from '../../../shared/protocol/db-messages.js';
import { currentNodeOf, type Call } from '../../../shared/protocol/domain.js';
import { matchesAll, namedBy, searchText, withDefaults } from '../call-rules.js';
import { createdRange, indexKey } from './created-range.js';
import { keys, padCallNum } from './keys.js';
import type { Store } from './store.js';

type ListQuery = DbParsedContent['listCalls'];

/** How far one list request may read when its filters leave calls to look at one by one. */
export interface ScanBounds {
  /** Index entries one request looks at, at most. */
  entries: number;
  /** Milliseconds one request reads for, at most (checked after each slice of entries). */
  ms: number;
}

/** Index entries read at a time when most of them may not match, and when each needs its record read. */
const FILTERED_SLICE = 500;
const RECORD_SLICE = 100;

/** Every index key ends in the call's padded number. */
const callNumOfKey = (key: string): number => Number(key.slice(-padCallNum(0).length));

/**
 * The indexes a query's filters name: the list walks the first and looks for each number it meets
 * in the others, so a call's record is read only once it is in them all. `nodeIndexed` is false
 * until calls stored before the node index have their entries.
 */
function indexesOf(query: ListQuery, nodeIndexed: boolean): string[] {
  const out: string[] = [];
  // Dead letters are few: their index is the shortest walk whenever they are asked for.
  if (query.deadLetter === true) out.push(keys.deadLetterPrefix);
  if (query.groupId !== undefined) out.push(keys.byGroupPrefix(query.groupId));
  if (query.sessionId !== undefined) out.push(keys.bySessionPrefix(query.sessionId));
  if (query.nodeId !== undefined && nodeIndexed) out.push(keys.byNodePrefix(query.nodeId));
  if (query.funcName !== undefined) out.push(keys.byFnPrefix(query.funcName));
  if (query.status !== undefined) out.push(keys.byStatusPrefix(query.status));
  return out;
}

/** What only the record can tell (text, and the node while its index is being filled); null when nothing. */
function recordMatcher(query: ListQuery, nodeIndexed: boolean): ((c: Call) => boolean) | null {
  const needle = query.q?.toLowerCase();
  const node = nodeIndexed ? undefined : query.nodeId;
  if (needle === undefined && node === undefined) return null;
  return (c) => (node === undefined || currentNodeOf(c) === node) && (needle === undefined || searchText(c).includes(needle));
}

/**
 * The numbers under `prefix` in [lowest, below): one range read, which costs about what as many
 * point reads of present keys would, and far less than point reads of absent ones.
 */
async function numbersIn(store: Store, prefix: string, lowest: number, below: number): Promise<Set<number>> {
  const found = await store.db.keys({ gte: indexKey(prefix, lowest), lt: indexKey(prefix, below) }).all();
  return new Set(found.map(callNumOfKey));
}

/** The call `q` names exactly (its id, or its callNum when all digits), if one does. */
async function namedCall(store: Store, q: string): Promise<Call | undefined> {
  const ref = namedBy(q);
  const id = 'id' in ref ? ref.id : await store.get<string>(keys.byNum(ref.callNum));
  const call = id === undefined ? undefined : await store.get<Call>(keys.call(id));
  return call && withDefaults(call);
}

/**
 * Newest first, `limit` at a time. The cursor is a callNum: the next page holds calls numbered
 * below it, so calls created while a client pages never shift or repeat what it sees.
 *
 * Every filter but the text (`q`) has an index, and `from`/`to` are a range of call numbers, so
 * one filter alone reads only what the page shows. Two or more filters walk one index a slice at a
 * time and keep the numbers the other indexes hold in the slice's range; the text is checked on
 * each record. Those walks stop at `bounds` (entries looked at, or milliseconds): a page cut short
 * answers the number of the last call it looked at as its cursor, the next page goes on from
 * there, and `scanned` says how many entries it looked at.
 */
export async function listCalls(store: Store, query: ListQuery, bounds: ScanBounds, nodeIndexed: boolean): Promise<CallPage> {
  if (query.q !== undefined) {
    const named = await namedCall(store, query.q);
    if (named) return { calls: matchesAll(query, named) ? [named] : [], nextCursor: null, scanned: 1 };
  }
  const started = performance.now();
  const [walk = keys.byNumPrefix, ...others] = indexesOf(query, nodeIndexed);
  const onRecord = recordMatcher(query, nodeIndexed);
  // Out of the dead letters: absent from their index.
  const notDead = query.deadLetter === false;
  const filtered = others.length > 0 || onRecord !== null || notDead;
  const sliceSize = onRecord !== null ? RECORD_SLICE : FILTERED_SLICE;
  const { lowest, below } = await createdRange(store, query.from, query.to);
  const top = Math.min(below, query.cursor === undefined ? Infinity : Number(query.cursor));
  // A page whose index holds only matches always fills, whatever the bound.
  const bound = Math.max(bounds.entries, query.limit + 1);
  const found: Call[] = [];
  let scanned = 0;
  let done = top <= lowest;
  let upper = indexKey(walk, top);
  while (!done && found.length <= query.limit) {
    const want = Math.min(filtered ? sliceSize : query.limit + 1 - found.length, bound - scanned);
    if (want <= 0 || (scanned > 0 && performance.now() - started > bounds.ms)) break;
    const slice = await store.db.iterator({ gte: indexKey(walk, lowest), lt: upper, reverse: true, limit: want }).all();
    done = slice.length < want;
    const last = slice[slice.length - 1];
    if (last === undefined) break;
    const [lowestHere, belowHere] = [callNumOfKey(last[0]), callNumOfKey(upper)];
    const inOthers = await Promise.all(others.map((prefix) => numbersIn(store, prefix, lowestHere, belowHere)));
    const dead = notDead ? await numbersIn(store, keys.deadLetterPrefix, lowestHere, belowHere) : undefined;
    for (const [key, id] of slice) {
      // Records cost far more than entries: a text search looks at the clock before each one.
      if (onRecord !== null && scanned > 0 && performance.now() - started > bounds.ms) {
        done = false;
        break;
      }
      scanned += 1;
      upper = key;
      const num = callNumOfKey(key);
      if (!inOthers.every((nums) => nums.has(num)) || dead?.has(num) === true) continue;
      const call = store.db.getSync(keys.call(String(id))) as Call | undefined;
      if (call && (onRecord === null || onRecord(call))) found.push(withDefaults(call));
      if (found.length > query.limit) break;
    }
  }
  const page = found.slice(0, query.limit);
  const last = page[page.length - 1];
  if (found.length > query.limit && last) return { calls: page, nextCursor: String(last.callNum), scanned };
  // Cut short by a bound: go on below the last entry looked at.
  const nextCursor = !done && scanned > 0 ? String(callNumOfKey(upper)) : null;
  return { calls: page, nextCursor, scanned };
}
