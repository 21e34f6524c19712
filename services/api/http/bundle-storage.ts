import type { Readable } from 'node:stream';
import type { Request } from 'express';
import type multer from 'multer';
import type { BundleUpload } from '../../../shared/clients/bundle-upload.js';
import type { RegistryClient } from '../../../shared/clients/registry-client.js';
import type { BundleCheck } from '../bundle-check/bundle-check.js';
import type { BundleLimits } from '../bundle-check/check-messages.js';
import type { BundleCheckPool } from '../bundle-check/check-pool.js';
import { answerNow } from './early-answer.js';

/** Where multer's file record keeps its staged bundle (a symbol: never serialized, never a field name). */
const STAGED = Symbol('ferry.stagedBundle');

/**
 * An uploaded bundle that was streamed to the registry and checked while it arrived. The registry
 * holds it as an open upload: nothing is stored until {@link commit}, which gives the check's
 * verdict first, so a bad bundle is refused and never stored.
 */
export class StagedBundle {
  constructor(
    private readonly upload: BundleUpload,
    private readonly check: BundleCheck,
  ) {}

  /**
   * Stores the bundle. Throws BAD_REQUEST when the check refused it, else the upload's failure
   * (BUNDLE_TOO_LARGE, TIMEOUT…) or the registry's TRUNCATED.
   */
  async commit(): Promise<{ sha256: string; size: number; stored: boolean }> {
    await this.check.result();
    return this.upload.commit();
  }

  /** Drops the upload on the registry. Idempotent; a no-op once committed. */
  abort(): Promise<void> {
    this.check.abandon();
    return this.upload.abort();
  }
}

/** The staged bundle of a file record that {@link BundleStorage} received. */
export function stagedBundleOf(file: Express.Multer.File | undefined): StagedBundle | undefined {
  return file ? (file as Express.Multer.File & { [STAGED]?: StagedBundle })[STAGED] : undefined;
}

/**
 * multer storage that spools nothing: each uploaded bundle goes on to the registry part by part
 * and to a check thread in the same pass, the registry's acknowledgements and the check's window
 * holding the request back when either is behind, so the api holds a few MiB of a bundle at a
 * time. A refusal is answered as soon as the check finds it, while the rest of the body is still
 * arriving. The upload is dropped if the request ends without a commit.
 */
export class BundleStorage implements multer.StorageEngine {
  constructor(
    private readonly registry: RegistryClient,
    private readonly checks: BundleCheckPool,
    private readonly limits: BundleLimits,
  ) {}

  _handleFile(req: Request, file: Express.Multer.File, callback: (error?: unknown, info?: Partial<Express.Multer.File>) => void): void {
    let check: BundleCheck;
    try {
      check = this.checks.open(this.limits);
    } catch (err) {
      callback(err);
      return;
    }
    const upload = this.registry.upload();
    const staged = new StagedBundle(upload, check);
    // Whatever happens to the request (an error before the push, a client gone), the upload goes.
    req.res?.once('close', () => void staged.abort());
    let settled = false;
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      void staged.abort();
      answerNow(req.res, err);
      callback(err);
      // multer reads the rest of the request off the wire; this part's stream is done with.
      file.stream.destroy();
    };
    // A refusal found while the upload still arrives is answered then, not after the last byte.
    void check.refusal.then(fail);
    receive(file.stream, upload, check).then((size) => {
      if (settled) return; // refused meanwhile
      settled = true;
      const info: Partial<Express.Multer.File> & { [STAGED]: StagedBundle } = { size, [STAGED]: staged };
      callback(null, info);
    }, fail);
  }

  _removeFile(_req: Request, file: Express.Multer.File, callback: (error: Error | null) => void): void {
    const staged = stagedBundleOf(file);
    if (!staged) return callback(null);
    staged.abort().then(
      () => callback(null),
      (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
    );
  }
}

/** Pieces handed on together: the HTTP body arrives in 16–64 KiB ones, each a cost per hop downstream. */
const PIECE_BYTES = 1024 * 1024;

/**
 * The pieces of one upload, in shared memory so the check thread reads them where they are, and
 * used again once the check and the registry are both done with one. A push of any size so holds
 * the dozen or so pieces its two windows allow, not a new MiB per MiB that lingers until a GC (a
 * 100 MiB push grew the api by ~80 MiB that way). A piece whose holder failed is never taken back.
 */
class PiecePool {
  private readonly free: Buffer[] = [];

  take(): Buffer {
    return this.free.pop() ?? Buffer.from(new SharedArrayBuffer(PIECE_BYTES));
  }

  give(piece: Buffer): void {
    this.free.push(piece);
  }
}

/**
 * Hands every byte to the check and the upload, gathered into 1 MiB pieces first: one copy here
 * spares ZeroMQ, the registry and the check thread a round of work per small piece. The upload's
 * and the check's windows hold the request back when either is behind. Resolves with the byte count.
 */
async function receive(stream: Readable, upload: BundleUpload, check: BundleCheck): Promise<number> {
  const pool = new PiecePool();
  let size = 0;
  let piece: Buffer | null = null;
  let filled = 0;
  const handOn = async (): Promise<void> => {
    const whole = piece!;
    const bytes = whole.subarray(0, filled);
    piece = null;
    filled = 0;
    if (check.refused) {
      // Refused: the rest is only read to finish the request; the registry has no use for it.
      if (upload.error === null) void upload.abort();
      pool.give(whole);
      return;
    }
    // Back to the pool once this function, the check and the registry are all done with it.
    let holders = 1;
    const release = (): void => {
      holders -= 1;
      if (holders === 0) pool.give(whole);
    };
    holders += 1;
    const checked = check.write(bytes, release);
    if (upload.error === null) {
      holders += 1;
      // A failed upload keeps its error for the commit; the check still sees every byte.
      await upload.write(bytes, release).catch(() => undefined);
    }
    await checked;
    release();
  };
  for await (const chunk of stream) {
    const bytes = chunk as Buffer;
    size += bytes.length;
    for (let at = 0; at < bytes.length; ) {
      piece ??= pool.take();
      const copied = bytes.copy(piece, filled, at);
      filled += copied;
      at += copied;
      if (filled === PIECE_BYTES) await handOn();
    }
  }
  if (filled > 0) await handOn();
  return size;
}
