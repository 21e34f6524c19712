import { ErrorCode, FerryError } from '../../../shared/errors.js';
import { keys } from './keys.js';
import type { Store } from './store.js';
import type { BatchOp } from './write-queue.js';

/** What an idempotency key remembers: the call its first create made, for `ttlMs`. */
export interface IdempotencyRecord {
  funcName: string;
  key: string;
  callId: string;
  paramsHash: string;
  createdAt: number;
  ttlMs: number;
  /** `createdAt + ttlMs`: the key answers creates strictly before this. */
  expiresAt: number;
}

export interface IdempotencySpec {
  key: string;
  paramsHash: string;
  ttlMs: number;
}

/** The lock (and LevelDB key) of one function's idempotency key: creates with it run one at a time. */
export const idempotencyLockKey = (funcName: string, key: string): string => keys.idempotency(funcName, key);

export const expiryKeyOf = (rec: IdempotencyRecord): string => keys.idempotencyExpiry(rec.expiresAt, rec.funcName, rec.key);

export const isLive = (rec: IdempotencyRecord, now: number): boolean => rec.expiresAt > now;

/** The record of `funcName` + `key`, live or expired, if there is one. */
export async function readKey(store: Store, funcName: string, key: string): Promise<IdempotencyRecord | undefined> {
  return store.get<IdempotencyRecord>(keys.idempotency(funcName, key));
}

/** The answer to a create whose key is live: the call it points at, unless the params differ. */
export function checkParams(rec: IdempotencyRecord, paramsHash: string): void {
  if (rec.paramsHash !== paramsHash) {
    throw new FerryError(
      ErrorCode.IDEMPOTENCY_CONFLICT,
      `idempotency key "${rec.key.slice(0, 256)}" of function "${rec.funcName}" was used by call ${rec.callId} with other params`,
    );
  }
}

/**
 * Ops that make `callId` the call of `funcName` + `spec.key`, replacing `previous` (an expired or
 * dangling record) and its expiry entry in the same batch.
 */
export function claimOps(
  funcName: string,
  spec: IdempotencySpec,
  callId: string,
  now: number,
  previous: IdempotencyRecord | undefined,
): BatchOp[] {
  const rec: IdempotencyRecord = {
    funcName,
    key: spec.key,
    callId,
    paramsHash: spec.paramsHash,
    createdAt: now,
    ttlMs: spec.ttlMs,
    // Clamped like every time in a key (see padTime): the record and its expiry entry agree.
    expiresAt: Math.min(Number.MAX_SAFE_INTEGER, now + spec.ttlMs),
  };
  const ops: BatchOp[] = [];
  if (previous) ops.push({ type: 'del', key: expiryKeyOf(previous) });
  ops.push(
    { type: 'put', key: keys.idempotency(funcName, spec.key), value: rec },
    { type: 'put', key: expiryKeyOf(rec), value: keys.idempotency(funcName, spec.key) },
  );
  return ops;
}

/** Ops that remove a key record and its expiry entry. */
export function dropOps(rec: IdempotencyRecord): BatchOp[] {
  return [
    { type: 'del', key: keys.idempotency(rec.funcName, rec.key) },
    { type: 'del', key: expiryKeyOf(rec) },
  ];
}

/**
 * Removes the keys that expired at or before `now` whose expiry entries are `entries` (the
 * `ike!` keys, with the `ik!` key each points at), each under its own lock, in one batch.
 * Returns how many key records went; stale expiry entries go too, uncounted.
 */
export function removeExpiredKeys(store: Store, entries: { expiryKey: string; keyKey: string }[], now: number): Promise<number> {
  return store.lock.runMany(
    entries.map((e) => e.keyKey),
    async () => {
      const ops: BatchOp[] = [];
      let removed = 0;
      for (const { expiryKey, keyKey } of entries) {
        const rec = await store.get<IdempotencyRecord>(keyKey);
        if (rec && !isLive(rec, now) && expiryKeyOf(rec) === expiryKey) {
          ops.push(...dropOps(rec));
          removed += 1;
        } else {
          // The record was replaced (its entry went with it) or is gone: only this entry is left.
          ops.push({ type: 'del', key: expiryKey });
        }
      }
      if (ops.length > 0) await store.write(ops);
      return removed;
    },
  );
}
