import { idempotencyRecord, isLive, type IdempotencyRecord, type IdempotencySpec } from '../idempotency-rules.js';
import { keys } from './keys.js';
import type { Store } from './store.js';
import type { BatchOp } from './write-queue.js';

/** The lock (and LevelDB key) of one function's idempotency key: creates with it run one at a time. */
export const idempotencyLockKey = (funcName: string, key: string): string => keys.idempotency(funcName, key);

export const expiryKeyOf = (rec: IdempotencyRecord): string => keys.idempotencyExpiry(rec.expiresAt, rec.funcName, rec.key);

/** The record of `funcName` + `key`, live or expired, if there is one. */
export async function readKey(store: Store, funcName: string, key: string): Promise<IdempotencyRecord | undefined> {
  return store.get<IdempotencyRecord>(keys.idempotency(funcName, key));
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
  const rec = idempotencyRecord(funcName, spec, callId, now);
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
