import { z } from 'zod';
import { sha256Schema } from './domain.js';

/**
 * The registry daemon's operations. A bundle travels as bulk frames after the body: putBundle
 * carries its chunks in the request, getBundle answers with them.
 */
export const registryRequestSchemas = {
  ping: z.object({}).passthrough(),
  putBundle: z.object({ sha256: sha256Schema, size: z.number().int().min(0) }),
  getBundle: z.object({ sha256: sha256Schema }),
  hasBundle: z.object({ sha256: sha256Schema }),
  deleteBundle: z.object({ sha256: sha256Schema }),
} as const;

export type RegistryMsgType = keyof typeof registryRequestSchemas;
export type RegistryRequestContent = { [K in RegistryMsgType]: z.input<(typeof registryRequestSchemas)[K]> };
export type RegistryParsedContent = { [K in RegistryMsgType]: z.output<(typeof registryRequestSchemas)[K]> };

export interface RegistryReplyContent {
  ping: { now: number };
  /** `stored: false` when the bundle was already there (content addressing makes puts idempotent). */
  putBundle: { sha256: string; size: number; stored: boolean };
  getBundle: { sha256: string; size: number };
  hasBundle: { exists: boolean; size: number | null };
  deleteBundle: { deleted: boolean };
}

export type RegistryRequest = {
  [K in RegistryMsgType]: { msgType: K; content: RegistryRequestContent[K] };
}[RegistryMsgType];

/** Bundles move in frames of this size: large enough to be cheap, small enough to stream. */
export const BUNDLE_CHUNK_BYTES = 1024 * 1024;
