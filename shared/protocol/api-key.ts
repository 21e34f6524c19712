import { createHash, randomBytes } from 'node:crypto';
import { customAlphabet } from 'nanoid';
import { z } from 'zod';

/**
 * API keys: what a caller of the HTTP API shows (`fry_<keyId>_<secret>`), and what the DB keeps
 * of one (its sha256, never the key). The secret is 32 random bytes, so a plain sha256 is enough:
 * there is nothing to guess that a slow hash would protect.
 */

export const Role = { admin: 'admin', developer: 'developer', invoker: 'invoker', reader: 'reader' } as const;
export type Role = (typeof Role)[keyof typeof Role];
export const roleSchema = z.enum(['admin', 'developer', 'invoker', 'reader']);

/** 12 letters and digits: short enough to read out, long enough never to repeat by chance. */
export const keyIdSchema = z.string().regex(/^[A-Za-z0-9]{12}$/, 'must be a key id: 12 letters and digits');
const newKeyId = customAlphabet('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 12);

/** A key's name: visible text for people, at most 128 characters. */
export const keyNameSchema = z.string().regex(/^[\x20-\x7e]{1,128}$/, 'must be 1 to 128 visible ASCII characters');

const KEY_PATTERN = /^fry_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

/** An API key as the DB stores it. Times are epoch milliseconds. */
export interface ApiKeyRecord {
  keyId: string;
  name: string | null;
  role: Role;
  /** sha256 of the whole key, hex. */
  hash: string;
  createdAt: number;
  /** It stops working at this time; null: never. */
  expiresAt: number | null;
  /** When it was revoked; null while it is not. */
  revokedAt: number | null;
  /** The key that made it; null for the first admin key (made at the api's first start). */
  createdBy: string | null;
}

/** A key as it is listed: everything but its hash. */
export type ApiKeyView = Omit<ApiKeyRecord, 'hash'>;

/** What `GET /v1/whoami` answers: the key the request showed; with auth off, none. */
export type Whoami = { keyId: string; name: string | null; role: Role; auth: 'on' } | { keyId: null; name: null; role: null; auth: 'off' };

export const keyView = ({ hash: _, ...view }: ApiKeyRecord): ApiKeyView => view;

/** A new key: `fry_<keyId>_<43 base64url characters of 32 random bytes>`, and its hash. */
export function newApiKey(): { keyId: string; key: string; hash: string } {
  const keyId = newKeyId();
  const key = `fry_${keyId}_${randomBytes(32).toString('base64url')}`;
  return { keyId, key, hash: hashKey(key) };
}

/** sha256 of the whole key: what the store keeps (hex) and what a key shown is checked against. */
export const keyDigest = (key: string): Buffer => createHash('sha256').update(key).digest();

export const hashKey = (key: string): string => keyDigest(key).toString('hex');

/** The key id a key names, or null when the text is no Ferry key. */
export function keyIdOf(key: string): string | null {
  return KEY_PATTERN.exec(key)?.[1] ?? null;
}
