import type { MessagePort } from 'node:worker_threads';

/** What a bundle may hold. */
export interface BundleLimits {
  maxEntries: number;
  maxUnpackedBytes: number;
}

export interface BundleContents {
  entries: number;
  unpackedBytes: number;
}

/** A check's outcome; a refusal carries the whole text the api answers with (400). */
export type CheckVerdict = ({ ok: true } & BundleContents) | { ok: false; message: string };

/** api → check thread, on the thread's parentPort: one more bundle, whose bytes come on `port`. */
export interface OpenCheck {
  type: 'open';
  port: MessagePort;
  limits: BundleLimits;
}
export type PoolToThread = OpenCheck;

/** api → check thread, on a check's port: the next bytes (in a SharedArrayBuffer when the api could, so not copied). */
export interface CheckBytes {
  type: 'bytes';
  bytes: Uint8Array;
}
/** api → check thread, on a check's port: the bundle is whole; answer the verdict. */
export interface CheckEnd {
  type: 'end';
}
export type ApiToCheck = CheckBytes | CheckEnd;

/** check thread → api: `bytes` were looked at; room for as many more. */
export interface CheckTaken {
  type: 'taken';
  bytes: number;
}
/** check thread → api: the verdict, sent as soon as it is known (a refusal before the end). */
export interface CheckDone {
  type: 'verdict';
  verdict: CheckVerdict;
}
export type CheckToApi = CheckTaken | CheckDone;
