import { ErrorCode, FerryError } from '../../shared/errors.js';

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

/** A key answers creates until it expires. */
export const isLive = (rec: IdempotencyRecord, now: number): boolean => rec.expiresAt > now;

/** The answer to a create whose key is live: the call it points at, unless the params differ. */
export function checkParams(rec: IdempotencyRecord, paramsHash: string): void {
  if (rec.paramsHash !== paramsHash) {
    throw new FerryError(
      ErrorCode.IDEMPOTENCY_CONFLICT,
      `idempotency key "${rec.key.slice(0, 256)}" of function "${rec.funcName}" was used by call ${rec.callId} with other params`,
    );
  }
}

/** The record that makes `callId` the call of `funcName` + `spec.key` from `now`. */
export function idempotencyRecord(funcName: string, spec: IdempotencySpec, callId: string, now: number): IdempotencyRecord {
  return {
    funcName,
    key: spec.key,
    callId,
    paramsHash: spec.paramsHash,
    createdAt: now,
    ttlMs: spec.ttlMs,
    // Clamped like every time in a key (see padTime): the record and its expiry entry agree.
    expiresAt: Math.min(Number.MAX_SAFE_INTEGER, now + spec.ttlMs),
  };
}
