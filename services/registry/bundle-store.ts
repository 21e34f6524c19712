import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { nanoid } from 'nanoid';
import { BadRequestError, ErrorCode, FerryError, NotFoundError } from '../../shared/errors.js';
import { BUNDLE_CHUNK_BYTES } from '../../shared/protocol/registry-messages.js';
import { BundleWriter } from './bundle-writer.js';

/**
 * Bundles on disk, addressed by sha256: `<dir>/<first two hex>/<sha256>`. A bundle is written to
 * a temp file, hashed on the way, and renamed into place only when its hash and size check out,
 * so a reader never sees a partial or wrong bundle.
 */
export class BundleStore {
  private readonly tmpDir: string;

  private constructor(
    private readonly dir: string,
    readonly maxBundleBytes: number,
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
    const writer = await this.newWriter();
    try {
      await writer.append(chunks);
      return { stored: (await this.commit(writer, sha256, declaredSize)).stored };
    } finally {
      await writer.discard();
    }
  }

  /** A temp file for a bundle arriving in parts; hand it to {@link commit} or discard it. */
  newWriter(): Promise<BundleWriter> {
    return BundleWriter.create(path.join(this.tmpDir, nanoid()));
  }

  /**
   * Checks what `writer` holds against the declared size (and sha256, when one is given) and moves
   * it into place under the sha256 it hashed to. Throws TRUNCATED, BAD_REQUEST (more bytes than
   * declared) or HASH_MISMATCH. The caller discards the writer either way (a no-op once moved).
   */
  async commit(writer: BundleWriter, expected: string | undefined, declaredSize: number): Promise<{ sha256: string; stored: boolean }> {
    if (declaredSize > this.maxBundleBytes) throw this.tooLarge(declaredSize);
    if (writer.size < declaredSize) {
      throw new FerryError(ErrorCode.TRUNCATED, `bundle truncated: ${writer.size} of ${declaredSize} bytes arrived`);
    }
    if (writer.size > declaredSize) {
      throw new BadRequestError(`bundle larger than declared: ${writer.size} bytes, declared ${declaredSize}`);
    }
    const { sha256 } = await writer.finish();
    if (expected !== undefined && sha256 !== expected) throw new FerryError(ErrorCode.HASH_MISMATCH, `bundle bytes hash to ${sha256}, not ${expected}`);
    if ((await this.size(sha256)) !== null) return { sha256, stored: false };
    const final = this.pathOf(sha256);
    await mkdir(path.dirname(final), { recursive: true });
    await rename(writer.file, final);
    return { sha256, stored: true };
  }

  /** Reads a whole bundle as chunk frames (held in memory at once: prefer {@link readPart}). Throws NOT_FOUND. */
  async read(sha256: string): Promise<{ size: number; chunks: Buffer[] }> {
    const size = await this.size(sha256);
    if (size === null) throw new NotFoundError(`bundle ${sha256}`);
    const chunks: Buffer[] = [];
    for await (const chunk of createReadStream(this.pathOf(sha256), { highWaterMark: BUNDLE_CHUNK_BYTES })) {
      chunks.push(chunk as Buffer);
    }
    return { size, chunks };
  }

  /**
   * Up to `length` bytes of a bundle from `offset` (fewer at its end), with the bundle's size.
   * Throws NOT_FOUND, or BAD_REQUEST for an offset past the end.
   */
  async readPart(sha256: string, offset: number, length: number): Promise<{ size: number; bytes: Buffer }> {
    let fh;
    try {
      fh = await open(this.pathOf(sha256), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`bundle ${sha256}`);
      throw err;
    }
    try {
      const { size } = await fh.stat();
      if (offset > size) throw new BadRequestError(`offset ${offset} is past the end of bundle ${sha256} (${size} bytes)`);
      const bytes = Buffer.allocUnsafe(Math.min(length, size - offset));
      let filled = 0;
      while (filled < bytes.length) {
        const { bytesRead } = await fh.read(bytes, filled, bytes.length - filled, offset + filled);
        if (bytesRead === 0) break; // cannot happen to a bundle in place (never rewritten), but never spin
        filled += bytesRead;
      }
      return { size, bytes: filled === bytes.length ? bytes : bytes.subarray(0, filled) };
    } finally {
      await fh.close();
    }
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

  tooLarge(bytes: number): FerryError {
    return new FerryError(ErrorCode.BUNDLE_TOO_LARGE, `bundle of ${bytes} bytes exceeds the ${this.maxBundleBytes}-byte limit`);
  }

  private pathOf(sha256: string): string {
    return path.join(this.dir, sha256.slice(0, 2), sha256);
  }
}
