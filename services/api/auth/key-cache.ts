import { timingSafeEqual } from 'node:crypto';
import type { DbClient } from '../../../shared/clients/db-client.js';
import { ErrorCode, FerryError } from '../../../shared/errors.js';
import { keyDigest, keyIdOf, type ApiKeyRecord, type Role } from '../../../shared/protocol/api-key.js';

/** Who a request comes from: the API key it showed. */
export interface Principal {
  keyId: string;
  name: string | null;
  role: Role;
}

/**
 * How long a key read from the DB is trusted without reading it again: a key revoked through
 * another api stops working here within this long.
 */
export const KEY_TRUST_MS = 1_000;
/** A key in use that is older than this is read again in the background, so a busy key seldom waits on the DB. */
const REFRESH_AFTER_MS = 500;
/** Keys held at most (unknown key ids included, so a flood of made-up keys cannot grow it without end). */
const MAX_ENTRIES = 10_000;

interface Entry {
  /** null: the DB knows no such key. */
  rec: ApiKeyRecord | null;
  principal: Principal | null;
  /** The record's hash as bytes, decoded once. */
  digest: Buffer | null;
  /** When the read that brought it was sent: its age counts from there. */
  readAt: number;
}

export const unauthenticated = (message: string): FerryError => new FerryError(ErrorCode.UNAUTHENTICATED, message);

/**
 * Checks API keys against the DB's records, each record kept for at most {@link KEY_TRUST_MS}: a
 * key checked in the last second costs a hash and no round trip.
 */
export class KeyCache {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<Entry>>();

  constructor(private readonly db: DbClient) {}

  /**
   * Who `key` is. Throws UNAUTHENTICATED for text that is no Ferry key, a key the DB does not
   * know (or whose secret differs), a revoked key and an expired one; a DB error when it cannot
   * be read.
   */
  async verify(key: string): Promise<Principal> {
    const keyId = keyIdOf(key);
    if (keyId === null) throw unauthenticated('the credentials are not a Ferry API key (fry_<id>_<secret>)');
    const { rec, principal, digest } = await this.entry(keyId);
    // Compared in a time that does not depend on where the two differ.
    const given = keyDigest(key);
    if (!rec || !principal || !digest || digest.length !== given.length || !timingSafeEqual(given, digest)) throw unauthenticated('unknown API key');
    if (rec.revokedAt !== null) throw unauthenticated(`API key ${keyId} was revoked`);
    if (rec.expiresAt !== null && rec.expiresAt <= Date.now()) throw unauthenticated(`API key ${keyId} expired`);
    return principal;
  }

  /** Drops what is held of `keyId` (it was just revoked here): its next use reads the DB. */
  forget(keyId: string): void {
    this.entries.delete(keyId);
    // A read already on its way may carry the record from before: it is not kept.
    this.loading.delete(keyId);
  }

  private async entry(keyId: string): Promise<Entry> {
    const held = this.entries.get(keyId);
    const age = held ? Date.now() - held.readAt : Infinity;
    if (held && age < KEY_TRUST_MS) {
      if (age >= REFRESH_AFTER_MS) this.load(keyId).catch(() => undefined);
      return held;
    }
    return this.load(keyId);
  }

  /** One read of a key at a time, however many requests wait for it. */
  private load(keyId: string): Promise<Entry> {
    const pending = this.loading.get(keyId);
    if (pending) return pending;
    const readAt = Date.now();
    const read: Promise<Entry> = this.db
      .call('getApiKey', { keyId })
      .catch((err: unknown) => {
        if (err instanceof FerryError && err.code === ErrorCode.NOT_FOUND) return null;
        throw err;
      })
      .then((rec) => {
        const entry: Entry = {
          rec,
          readAt,
          principal: rec && { keyId: rec.keyId, name: rec.name, role: rec.role },
          digest: rec && Buffer.from(rec.hash, 'hex'),
        };
        if (this.loading.get(keyId) === read) this.keep(keyId, entry);
        return entry;
      })
      .finally(() => {
        if (this.loading.get(keyId) === read) this.loading.delete(keyId);
      });
    this.loading.set(keyId, read);
    return read;
  }

  private keep(keyId: string, entry: Entry): void {
    this.entries.delete(keyId);
    this.entries.set(keyId, entry);
    if (this.entries.size > MAX_ENTRIES) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }
}
