import { createHash } from 'node:crypto';
import { open, rm, type FileHandle } from 'node:fs/promises';

/**
 * Bytes written between two background syncs. Left to the end, the fsync of a 100 MiB bundle
 * writes it all out while the uploader waits (~0.2 s on a virtual disk); synced as it arrives, the
 * disk works while the rest is still on the wire and the last fsync has little left to do.
 */
const SYNC_EVERY_BYTES = 16 * 1024 * 1024;

/**
 * One bundle being written to a temp file: bytes are hashed and appended in the order given,
 * each batch with one positional write. Its data is synced in the background every
 * {@link SYNC_EVERY_BYTES}, at most one sync at a time, and fully once at {@link finish}.
 */
export class BundleWriter {
  private readonly hash = createHash('sha256');
  private bytes = 0;
  private unsynced = 0;
  /** The background sync under way; its failure is kept for {@link finish}. */
  private syncing: Promise<void> | null = null;
  private syncFailure: unknown = null;
  private state: 'open' | 'finished' | 'discarded' = 'open';

  private constructor(
    readonly file: string,
    private readonly fh: FileHandle,
  ) {}

  static async create(file: string): Promise<BundleWriter> {
    return new BundleWriter(file, await open(file, 'w'));
  }

  /** Bytes appended so far. */
  get size(): number {
    return this.bytes;
  }

  /** Hashes `frames` and writes them after what came before. Callers must not overlap calls. */
  async append(frames: readonly Buffer[]): Promise<void> {
    if (this.state !== 'open') throw new Error(`bundle writer is ${this.state}`);
    let length = 0;
    for (const f of frames) {
      this.hash.update(f);
      length += f.length;
    }
    const position = this.bytes;
    this.bytes += length;
    await writeAllAt(this.fh, frames, position);
    this.unsynced += length;
    if (this.unsynced >= SYNC_EVERY_BYTES && !this.syncing) {
      this.unsynced = 0;
      this.syncing = this.fh.datasync().then(
        () => {
          this.syncing = null;
        },
        (err: unknown) => {
          this.syncFailure ??= err;
          this.syncing = null;
        },
      );
    }
  }

  /** Syncs and closes the temp file; resolves with its sha256 (hex) and size. */
  async finish(): Promise<{ sha256: string; size: number }> {
    if (this.state !== 'open') throw new Error(`bundle writer is ${this.state}`);
    this.state = 'finished';
    try {
      await this.syncing;
      if (this.syncFailure) throw this.syncFailure;
      await this.fh.sync();
    } finally {
      await this.fh.close();
    }
    return { sha256: this.hash.digest('hex'), size: this.bytes };
  }

  /** Closes (when still open) and removes the temp file. Idempotent. */
  async discard(): Promise<void> {
    if (this.state === 'discarded') return;
    const wasOpen = this.state === 'open';
    this.state = 'discarded';
    // Not closed under a sync still using the descriptor.
    await this.syncing;
    if (wasOpen) await this.fh.close().catch(() => undefined);
    await rm(this.file, { force: true });
  }
}

/** writev at `position`, going on after a short write (the kernel may take fewer bytes). */
async function writeAllAt(fh: FileHandle, frames: readonly Buffer[], position: number): Promise<void> {
  let rest = frames.filter((f) => f.length > 0);
  let at = position;
  while (rest.length > 0) {
    const { bytesWritten } = await fh.writev(rest, at);
    at += bytesWritten;
    let skip = bytesWritten;
    const next: Buffer[] = [];
    for (const f of rest) {
      if (skip >= f.length) skip -= f.length;
      else {
        next.push(skip > 0 ? f.subarray(skip) : f);
        skip = 0;
      }
    }
    rest = next;
  }
}
