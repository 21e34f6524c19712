import { z } from 'zod';
import type { RefusedCounts } from '../refusals.js';
import { sha256Schema } from './domain.js';

/** Largest range one getPart may ask for: a reply is one frame held in memory on both ends. */
export const MAX_PART_BYTES = 8 * 1024 * 1024;

/** Names one upload in progress; chosen by the uploader (a nanoid), so a resent part finds it. */
const uploadIdSchema = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'must be 8 to 64 letters, digits, "_" or "-"');

/**
 * The registry daemon's operations. Bundle bytes travel as bulk frames after the body, never in
 * it. A bundle moves in parts so neither end holds it whole: putPart (bytes at `offset` of upload
 * `uploadId`, in order) … putCommit (check the size, and the sha256 when the uploader gives one,
 * store under the sha256 the registry hashed) or putAbort; getPart answers
 * one byte range. putBundle and getBundle move a whole bundle in one message (small bundles,
 * older peers).
 */
export const registryRequestSchemas = {
  ping: z.object({}).passthrough(),
  putBundle: z.object({ sha256: sha256Schema, size: z.number().int().min(0) }),
  putPart: z.object({ uploadId: uploadIdSchema, offset: z.number().int().min(0) }),
  putCommit: z.object({ uploadId: uploadIdSchema, sha256: sha256Schema.optional(), size: z.number().int().min(0) }),
  putAbort: z.object({ uploadId: uploadIdSchema }),
  getBundle: z.object({ sha256: sha256Schema }),
  getPart: z.object({ sha256: sha256Schema, offset: z.number().int().min(0), length: z.number().int().min(1).max(MAX_PART_BYTES) }),
  hasBundle: z.object({ sha256: sha256Schema }),
  deleteBundle: z.object({ sha256: sha256Schema }),
} as const;

export type RegistryMsgType = keyof typeof registryRequestSchemas;
export type RegistryRequestContent = { [K in RegistryMsgType]: z.input<(typeof registryRequestSchemas)[K]> };
export type RegistryParsedContent = { [K in RegistryMsgType]: z.output<(typeof registryRequestSchemas)[K]> };

export interface RegistryReplyContent {
  ping: { now: number; refused: RefusedCounts };
  /** `stored: false` when the bundle was already there (content addressing makes puts idempotent). */
  putBundle: { sha256: string; size: number; stored: boolean };
  /** Bytes of the upload received in order so far. */
  putPart: { received: number };
  /** `sha256`: what the registry hashed the bytes to, the bundle's address from now on. */
  putCommit: { sha256: string; size: number; stored: boolean };
  /** `aborted: false` when no such upload was open (already committed, aborted or expired). */
  putAbort: { aborted: boolean };
  getBundle: { sha256: string; size: number };
  /** `size` is the whole bundle's; the bulk frame holds bytes `offset` … up to `offset + length`. */
  getPart: { sha256: string; size: number; offset: number };
  hasBundle: { exists: boolean; size: number | null };
  deleteBundle: { deleted: boolean };
}

export type RegistryRequest = {
  [K in RegistryMsgType]: { msgType: K; content: RegistryRequestContent[K] };
}[RegistryMsgType];

/** Bundles move in parts of about this size: large enough to be cheap, small enough to stream. */
export const BUNDLE_CHUNK_BYTES = 1024 * 1024;
