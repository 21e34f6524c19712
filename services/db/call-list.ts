import type { CallPage, DbParsedContent } from '../../shared/protocol/db-messages.js';
import { currentNodeOf, type Call } from '../../shared/protocol/domain.js';
import { withDefaults } from './call-indexes.js';
import { keys, padCallNum } from './keys.js';
import type { Store } from './store.js';

type ListQuery = DbParsedContent['listCalls'];

/**
 * Calls are numbered as they are created, so callNum order is createdAt order but for creates
 * racing within the same instant: a walk down the numbers stops only once it is this far below
 * `from`.
 */
const CREATED_ORDER_SLACK_MS = 1_000;

/** Every index key ends in the call's padded number. */
const callNumOfKey = (key: string): number => Number(key.slice(-padCallNum(0).length));

/** The index a list walks: the shortest one a filter names. */
function indexPrefix(query: ListQuery): string {
  // Dead letters are few: their index is the shortest walk whenever they are asked for.
  if (query.deadLetter === true) return keys.deadLetterPrefix;
  if (query.groupId !== undefined) return keys.byGroupPrefix(query.groupId);
  if (query.sessionId !== undefined) return keys.bySessionPrefix(query.sessionId);
  if (query.funcName !== undefined) return keys.byFnPrefix(query.funcName);
  if (query.status !== undefined) return keys.byStatusPrefix(query.status);
  return keys.byNumPrefix;
}

/** The text a search looks in: the params and the result as JSON, lower-cased. */
function searchText(call: Call): string {
  const result = typeof call.result === 'string' ? call.result : JSON.stringify(call.result ?? null);
  return `${JSON.stringify(call.params ?? null)}\n${result}`.toLowerCase();
}

function matcher(query: ListQuery): (c: Call) => boolean {
  const needle = query.q?.toLowerCase();
  return (c) =>
    (query.funcName === undefined || c.funcName === query.funcName) &&
    (query.status === undefined || c.status === query.status) &&
    (query.sessionId === undefined || c.sessionId === query.sessionId) &&
    (query.groupId === undefined || c.groupId === query.groupId) &&
    (query.deadLetter === undefined || (c.deadLetter ?? false) === query.deadLetter) &&
    (query.nodeId === undefined || currentNodeOf(c) === query.nodeId) &&
    (query.from === undefined || c.createdAt >= query.from) &&
    (query.to === undefined || c.createdAt <= query.to) &&
    (needle === undefined || searchText(c).includes(needle));
}

/** The call `q` names exactly (its id, or its callNum when all digits), if one does. */
async function namedCall(store: Store, q: string): Promise<Call | undefined> {
  const id = /^\d{1,16}$/.test(q) ? await store.get<string>(keys.byNum(Number(q))) : q;
  const call = id === undefined ? undefined : await store.get<Call>(keys.call(id));
  return call && withDefaults(call);
}

/**
 * Newest first, `limit` at a time. The cursor is a callNum: the next page holds calls numbered
 * below it, so calls created while a client pages never shift or repeat what it sees.
 *
 * A filter without an index of its own (node, time, text, or a second indexed one) reads calls
 * until the page is full: at most `scanMax` (or `limit` + 1) per request, so no request holds the store for long.
 * A page cut short by that bound answers the number of the last call it looked at as its cursor:
 * the next page goes on from there (`scanned` says how many it looked at).
 */
export async function listCalls(store: Store, query: ListQuery, scanMax: number): Promise<CallPage> {
  const matches = matcher(query);
  const below = (c: Call): boolean => query.cursor === undefined || c.callNum < Number(query.cursor);
  if (query.q !== undefined) {
    const named = await namedCall(store, query.q);
    const { q: _q, ...others } = query;
    if (named) return { calls: [named].filter((c) => below(c) && matcher(others)(c)), nextCursor: null, scanned: 1 };
  }
  // A page whose index holds only matches always fills, whatever the bound.
  const bound = Math.max(scanMax, query.limit + 1);
  const prefix = indexPrefix(query);
  const found: Call[] = [];
  let scanned = 0;
  let done = false;
  let upper = query.cursor === undefined ? undefined : prefix + padCallNum(Number(query.cursor));
  walk: while (found.length <= query.limit) {
    const want = Math.min(query.limit + 1, bound - scanned);
    if (want <= 0) break;
    const slice = await store.keysUnder(prefix, { reverse: true, limit: want, lt: upper });
    const ids = await store.db.getMany(slice);
    const calls = await store.db.getMany(ids.map((id) => keys.call(String(id))));
    for (const [i, value] of calls.entries()) {
      scanned += 1;
      upper = slice[i];
      const call = value as Call | undefined;
      if (call && query.from !== undefined && call.createdAt < query.from - CREATED_ORDER_SLACK_MS) {
        done = true;
        break walk;
      }
      if (call && matches(call)) found.push(withDefaults(call));
      if (found.length > query.limit) break walk;
    }
    if (slice.length < want) {
      done = true;
      break;
    }
  }
  const page = found.slice(0, query.limit);
  const last = page[page.length - 1];
  if (found.length > query.limit && last) return { calls: page, nextCursor: String(last.callNum), scanned };
  // Cut short by the scan bound: go on below the last call looked at.
  const nextCursor = !done && upper !== undefined && scanned > 0 ? String(callNumOfKey(upper)) : null;
  return { calls: page, nextCursor, scanned };
}
