import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { nanoid } from 'nanoid';
import { ErrorCode, FerryError, NotFoundError } from '../../shared/errors.js';
import { BUNDLE_CHUNK_BYTES } from '../../shared/protocol/registry-messages.js';

/**
 * Bundles on disk, addressed by sha256: `<dir>/<first two hex>/<sha256>`. A bundle is written to
 * a temp file, hashed on the way, and renamed into place only when its hash and size check out,
 * so a reader never sees a partial or wrong bundle.
 */
export class BundleStore {
  private readonly tmpDir: string;

  private constructor(
    private readonly dir: string,
    private readonly maxBundleBytes: number,
  ) {
    this.tmpDir = path.join(dir, 'tmp');
  }

  static async open(dir: string, maxBundleBytes: number): Promise<BundleStore> {
    const store = new BundleStore(dir, maxBundleBytes);
    // Temp files left by a crash are never complete bundles.
    await rm(store.tmpDir, { recursive: true, force: true });
    await mkdir(store.tmpDir, { recursive: true });
    return store;
  }

  /** Stores `chunks` as bundle `sha256`. Throws BUNDLE_TOO_LARGE, TRUNCATED or HASH_MISMATCH; stores nothing then. */
  async put(sha256: string, declaredSize: number, chunks: Buffer[]): Promise<{ stored: boolean }> {
    if (declaredSize > this.maxBundleBytes) throw this.tooLarge(declaredSize);
    const received = chunks.reduce((n, c) => n + c.length, 0);
    if (received > this.maxBundleBytes) throw this.tooLarge(received);
    if (received < declaredSize) {
      throw new FerryError(ErrorCode.TRUNCATED, `bundle truncated: ${received} of ${declaredSize} bytes arrived`);
    }
    if (received > declaredSize) {
      throw new FerryError(ErrorCode.BAD_REQUEST, `bundle larger than declared: ${received} bytes, declared ${declaredSize}`);
    }

    const tmp = path.join(this.tmpDir, nanoid());
    const hash = createHash('sha256');
    const fh = await open(tmp, 'w');
    try {
      for (const chunk of chunks) {
        hash.update(chunk);
        await fh.write(chunk);
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    const got = hash.digest('hex');
    if (got !== sha256) {
      await rm(tmp, { force: true });
      throw new FerryError(ErrorCode.HASH_MISMATCH, `bundle bytes hash to ${got}, not ${sha256}`);
    }
    const final = this.pathOf(sha256);
    if (await this.size(sha256) !== null) {
      await rm(tmp, { force: true });
      return { stored: false };
    }
    await mkdir(path.dirname(final), { recursive: true });
    await rename(tmp, final);
    return { stored: true };
  }

  /** Reads a bundle as chunk frames. Throws NOT_FOUND. */
  async read(sha256: string): Promise<{ size: number; chunks: Buffer[] }> {
    const size = await this.size(sha256);
    if (size === null) throw new NotFoundError(`bundle ${sha256}`);
    const chunks: Buffer[] = [];
    for await (const chunk of createReadStream(this.pathOf(sha256), { highWaterMark: BUNDLE_CHUNK_BYTES })) {
      chunks.push(chunk as Buffer);
    }
    return { size, chunks };
  }

  /** Size in bytes, or null when the bundle is not stored. */
  async size(sha256: string): Promise<number | null> {
    try {
      return (await stat(this.pathOf(sha256))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async delete(sha256: string): Promise<boolean> {
    const existed = (await this.size(sha256)) !== null;
    await rm(this.pathOf(sha256), { force: true });
    return existed;
  }

  private pathOf(sha256: string): string {
    return path.join(this.dir, sha256.slice(0, 2), sha256);
  }

  private tooLarge(bytes: number): FerryError {
    return new FerryError(ErrorCode.BUNDLE_TOO_LARGE, `bundle of ${bytes} bytes exceeds the ${this.maxBundleBytes}-byte limit`);
  }
}
