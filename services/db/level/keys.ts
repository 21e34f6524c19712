/**
 * LevelDB key layout. Numbers are zero-padded so lexicographic order is numeric order; `~` sorts
 * after every digit and name character, so `prefix + '~'` bounds a range from above.
 *
 *   rt!<runtime>                   Runtime
 *   fv!<fn>!<version>              FunctionVersion
 *   c!<callId>                     Call
 *   n!<callNum>                    callId   (every call, in callNum order)
 *   if!<fn>!<callNum>              callId   (calls of a function)
 *   is!<status>!<callNum>          callId   (calls by current status)
 *   iss!<sessionId>!<callNum>      callId   (calls of a session)
 *   ig!<groupId>!<callNum>         callId   (calls of a group)
 *   in!<nodeId>!<callNum>          callId   (calls by the node of their current execution)
 *   igf!<groupId>!<finishSeq>      callId   (ended calls of a group, in the order they ended)
 *   gp!<groupId>!<page>            GroupResultPage (a session's result pages)
 *   g!<groupId>                    Group
 *   ga!<createdAt>!<groupId>       groupId  (every group, oldest first)
 *   gk!<kind>!<createdAt>!<groupId> groupId (groups of a kind)
 *   gm!<groupId>                   groupId  (groups whose calls are still being made)
 *   dl!<callNum>                   callId   (dead-lettered calls)
 *   ie!<finishedAt>!<callNum>      callId   (ended calls by finish time: what retention removes)
 *   ik!<fn>!<key>                  IdempotencyRecord
 *   ike!<expiresAt>!<fn>!<key>     ik key   (idempotency keys by expiry)
 *   ak!<keyId>                     ApiKeyRecord (API keys: hashes, never the keys)
 *   st!<sliceStart>                StatsBucket (calls started and ended per 10 s, kept 7 days)
 *   ls!<name>                      lease    (who holds a lease, until when)
 *   ctr!<name>                     number   (counters)
 *   meta!<name>                    value    (store housekeeping: index backfills done)
 */
export const END = '~';

export const pad = (n: number, width: number): string => String(n).padStart(width, '0');
export const padCallNum = (n: number): string => pad(n, 16);
export const padVersion = (n: number): string => pad(n, 10);
/**
 * Epoch milliseconds in 16 digits (the year 285,000 fits). Clamped, so an absurd time a writer
 * sends (negative, fractional, 1e21) still sorts where its value does instead of breaking the order.
 */
export const padTime = (ms: number): string => pad(Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, Math.floor(ms))), 16);

export const keys = {
  runtime: (name: string) => `rt!${name}`,
  runtimePrefix: 'rt!',
  fnVersion: (name: string, version: number) => `fv!${name}!${padVersion(version)}`,
  fnVersionPrefix: (name: string) => `fv!${name}!`,
  fnAllPrefix: 'fv!',
  call: (id: string) => `c!${id}`,
  byNum: (num: number) => `n!${padCallNum(num)}`,
  byNumPrefix: 'n!',
  byFn: (fn: string, num: number) => `if!${fn}!${padCallNum(num)}`,
  byFnPrefix: (fn: string) => `if!${fn}!`,
  byStatus: (status: string, num: number) => `is!${status}!${padCallNum(num)}`,
  byStatusPrefix: (status: string) => `is!${status}!`,
  bySession: (sessionId: string, num: number) => `iss!${sessionId}!${padCallNum(num)}`,
  bySessionPrefix: (sessionId: string) => `iss!${sessionId}!`,
  byGroup: (groupId: string, num: number) => `ig!${groupId}!${padCallNum(num)}`,
  byGroupPrefix: (groupId: string) => `ig!${groupId}!`,
  byNode: (nodeId: string, num: number) => `in!${nodeId}!${padCallNum(num)}`,
  byNodePrefix: (nodeId: string) => `in!${nodeId}!`,
  byNodeAll: 'in!',
  byGroupFinish: (groupId: string, seq: number) => `igf!${groupId}!${padCallNum(seq)}`,
  byGroupFinishPrefix: (groupId: string) => `igf!${groupId}!`,
  groupPage: (groupId: string, page: number) => `gp!${groupId}!${pad(page, 10)}`,
  groupPagePrefix: (groupId: string) => `gp!${groupId}!`,
  group: (id: string) => `g!${id}`,
  groupByTime: (createdAt: number, id: string) => `ga!${padTime(createdAt)}!${id}`,
  groupByTimePrefix: 'ga!',
  groupByKind: (kind: string, createdAt: number, id: string) => `gk!${kind}!${padTime(createdAt)}!${id}`,
  groupByKindPrefix: (kind: string) => `gk!${kind}!`,
  groupBeingMade: (id: string) => `gm!${id}`,
  groupBeingMadePrefix: 'gm!',
  deadLetter: (num: number) => `dl!${padCallNum(num)}`,
  deadLetterPrefix: 'dl!',
  byEnd: (finishedAt: number, num: number) => `ie!${padTime(finishedAt)}!${padCallNum(num)}`,
  byEndPrefix: 'ie!',
  /** Bounds `ie!` entries of calls that finished before `ms` from above. */
  byEndBefore: (ms: number) => `ie!${padTime(ms)}`,
  idempotency: (fn: string, key: string) => `ik!${fn}!${key}`,
  /** The idempotency key's own (function name, then key: names hold no `!`, keys may). */
  idempotencyExpiry: (expiresAt: number, fn: string, key: string) => `ike!${padTime(expiresAt)}!${fn}!${key}`,
  idempotencyExpiryPrefix: 'ike!',
  /** Bounds `ike!` entries of keys that expired at or before `ms` from above. */
  idempotencyExpiryUpTo: (ms: number) => `ike!${padTime(ms + 1)}`,
  apiKey: (keyId: string) => `ak!${keyId}`,
  apiKeyPrefix: 'ak!',
  statsSlice: (start: number) => `st!${padTime(start)}`,
  statsSlicePrefix: 'st!',
  lease: (name: string) => `ls!${name}`,
  counter: (name: string) => `ctr!${name}`,
  meta: (name: string) => `meta!${name}`,
} as const;
