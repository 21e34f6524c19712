import { ErrorCode, FerryError, NotFoundError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { BundleStore } from './bundle-store.js';
import type { BundleWriter } from './bundle-writer.js';

export interface BundleUploadsOptions {
  /** An upload that hears nothing for this long is dropped with its temp file. Default 2 min. */
  idleMs?: number;
  /** Uploads open at once; one more is refused as UNAVAILABLE (retryable). Default 64. */
  maxOpen?: number;
}

/** Parts that may arrive ahead of a missing one (a resend after a lost frame); more fail the upload. */
const MAX_PARTS_AHEAD = 64;

interface Part {
  offset: number;
  frames: Buffer[];
  bytes: number;
  done: { resolve: (received: number) => void; reject: (err: unknown) => void };
}

/**
 * Bundles arriving in parts (putPart … putCommit | putAbort), each written to its own temp file as
 * it comes, so the registry holds at most the parts in flight, never a whole bundle. Parts are
 * applied in offset order; the size cap is enforced part by part; a failed upload keeps its first
 * error (answered to every later part and to the commit) until it is aborted or goes idle.
 */
export class BundleUploads {
  private readonly open = new Map<string, Upload>();
  private readonly idleMs: number;
  private readonly maxOpen: number;

  constructor(
    private readonly store: BundleStore,
    private readonly log: Logger,
    options: BundleUploadsOptions = {},
  ) {
    this.idleMs = options.idleMs ?? 120_000;
    this.maxOpen = options.maxOpen ?? 64;
  }

  /** Adds bytes at `offset` (the first part, at 0, opens the upload); resolves with bytes received in order. */
  part(uploadId: string, offset: number, frames: Buffer[]): Promise<number> {
    let upload = this.open.get(uploadId);
    if (!upload) {
      if (offset !== 0) return Promise.reject(new NotFoundError(`upload ${uploadId}`));
      if (this.open.size >= this.maxOpen) {
        return Promise.reject(new FerryError(ErrorCode.UNAVAILABLE, `${this.maxOpen} uploads already open`, { retryable: true }));
      }
      upload = new Upload(this.store, this.store.newWriter());
      this.open.set(uploadId, upload);
    }
    this.touch(uploadId, upload);
    return upload.add(offset, frames);
  }

  /** Verifies and stores the upload (see {@link BundleStore.commit}); it is closed whatever the outcome. */
  async commit(uploadId: string, sha256: string | undefined, size: number): Promise<{ sha256: string; stored: boolean }> {
    const upload = this.open.get(uploadId);
    if (!upload) throw new NotFoundError(`upload ${uploadId}`);
    this.forget(uploadId, upload);
    try {
      return await upload.commit(sha256, size);
    } finally {
      await upload.discard();
    }
  }

  /** Drops the upload and its temp file; false when there was none. */
  async abort(uploadId: string): Promise<boolean> {
    const upload = this.open.get(uploadId);
    if (!upload) return false;
    this.forget(uploadId, upload);
    await upload.discard();
    return true;
  }

  /** Drops every open upload (the daemon is stopping). */
  async close(): Promise<void> {
    await Promise.allSettled([...this.open.keys()].map((id) => this.abort(id)));
  }

  private touch(uploadId: string, upload: Upload): void {
    clearTimeout(upload.idleTimer);
    upload.idleTimer = setTimeout(() => {
      this.log.warn({ uploadId, received: upload.received }, 'idle upload dropped');
      void this.abort(uploadId);
    }, this.idleMs);
    upload.idleTimer.unref();
  }

  private forget(uploadId: string, upload: Upload): void {
    clearTimeout(upload.idleTimer);
    this.open.delete(uploadId);
  }
}

/** One upload: its temp file, the parts waiting for a gap to fill, and its first failure. */
class Upload {
  idleTimer: NodeJS.Timeout | undefined;
  /** Bytes accepted in order (written or being written). */
  received = 0;
  private readonly ahead = new Map<number, Part>();
  private writes: Promise<unknown>;
  private failure: FerryError | null = null;

  constructor(
    private readonly store: BundleStore,
    private readonly writer: Promise<BundleWriter>,
  ) {
    this.writes = writer;
    // A temp file that cannot be opened fails the upload (answered on the first part).
    writer.catch((err: unknown) => this.fail(new FerryError(ErrorCode.INTERNAL, `cannot open a temp file: ${String(err)}`)));
  }

  add(offset: number, frames: Buffer[]): Promise<number> {
    if (this.failure) return Promise.reject(this.failure);
    const bytes = frames.reduce((n, f) => n + f.length, 0);
    if (offset + bytes > this.store.maxBundleBytes) {
      this.fail(this.store.tooLarge(offset + bytes));
      return Promise.reject(this.failure);
    }
    if (offset < this.received) {
      // A resend of a part already taken (its first answer was lost): answer it again.
      if (offset + bytes <= this.received) return this.writes.then(() => this.received);
      this.fail(new FerryError(ErrorCode.BAD_REQUEST, `part at ${offset} overlaps bytes already received (${this.received})`));
      return Promise.reject(this.failure);
    }
    return new Promise<number>((resolve, reject) => {
      const part: Part = { offset, frames, bytes, done: { resolve, reject } };
      if (offset > this.received) {
        if (this.ahead.size >= MAX_PARTS_AHEAD || this.ahead.has(offset)) {
          this.fail(new FerryError(ErrorCode.BAD_REQUEST, `parts missing at ${this.received} (or sent twice)`));
          reject(this.failure);
          return;
        }
        this.ahead.set(offset, part);
        return;
      }
      this.take(part);
      for (let next = this.ahead.get(this.received); next; next = this.ahead.get(this.received)) {
        this.ahead.delete(next.offset);
        this.take(next);
      }
    });
  }

  async commit(sha256: string | undefined, size: number): Promise<{ sha256: string; stored: boolean }> {
    const writer = await this.settled();
    return this.store.commit(writer, sha256, size);
  }

  /** Ends the upload: later parts are refused and the temp file (if not committed) removed. */
  async discard(): Promise<void> {
    this.fail(new FerryError(ErrorCode.CLOSED, 'upload closed'));
    await this.writes.catch(() => undefined);
    const writer = await this.writer.catch(() => null);
    await writer?.discard();
  }

  /** The writer once every part taken is written; throws the upload's failure. */
  private async settled(): Promise<BundleWriter> {
    await this.writes.catch(() => undefined);
    if (this.failure) throw this.failure;
    return this.writer;
  }

  private take(part: Part): void {
    this.received += part.bytes;
    const written = this.writes.then(async () => {
      if (this.failure) throw this.failure;
      await (await this.writer).append(part.frames);
    });
    this.writes = written.catch((err: unknown) => {
      this.fail(err instanceof FerryError ? err : new FerryError(ErrorCode.INTERNAL, `bundle write failed: ${String(err)}`));
    });
    written.then(
      () => part.done.resolve(part.offset + part.bytes),
      (err: unknown) => part.done.reject(this.failure ?? err),
    );
  }

  /** Keeps the first failure, answers the parts waiting ahead with it, and frees the temp file. */
  private fail(err: FerryError): void {
    if (this.failure) return;
    this.failure = err;
    for (const part of this.ahead.values()) part.done.reject(err);
    this.ahead.clear();
    // After the writes in progress, so the file is not closed under them.
    void this.writes
      .catch(() => undefined)
      .then(() => this.writer)
      .then((w) => w.discard(), () => undefined);
  }
}
