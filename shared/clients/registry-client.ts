import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import type { ClientConfig } from '../config.js';
import { ErrorCode, FerryError } from '../errors.js';
import { moduleLogger } from '../logger.js';
import {
  BUNDLE_CHUNK_BYTES,
  type RegistryReplyContent,
  type RegistryRequestContent,
} from '../protocol/registry-messages.js';
import { RpcClient } from '../transport/rpc-client.js';

/** Generous per-MiB allowance on top of the base timeout for bundle transfers. */
const TRANSFER_MS_PER_MIB = 200;

export interface BundleInfo {
  sha256: string;
  size: number;
}

/**
 * Client of the registry daemon. Bundles move as 1 MiB frames read from and written to files,
 * so each side holds a bundle in memory at most once and never as one contiguous buffer.
 */
export class RegistryClient {
  readonly rpc: RpcClient<RegistryRequestContent, RegistryReplyContent>;

  constructor(private readonly config: Pick<ClientConfig, 'registryAddr' | 'requestTimeoutMs' | 'requestRetries'>) {
    this.rpc = new RpcClient<RegistryRequestContent, RegistryReplyContent>({
      endpoint: config.registryAddr,
      timeoutMs: config.requestTimeoutMs,
      retries: config.requestRetries,
      log: moduleLogger('registry-client'),
    });
  }

  /** Reads a file as frames, hashing as it goes, and stores it. Resolves with its sha256 and size. */
  async putFile(file: string): Promise<BundleInfo & { stored: boolean }> {
    const { chunks, sha256, size } = await readChunks(file);
    return this.rpc.call('putBundle', { sha256, size }, { bulk: chunks, timeoutMs: this.transferTimeout(size) });
  }

  /** Stores frames already in memory (tests and small bundles); `sha256` is what the registry must verify. */
  async putChunks(chunks: Buffer[], sha256: string, size: number): Promise<BundleInfo & { stored: boolean }> {
    return this.rpc.call('putBundle', { sha256, size }, { bulk: chunks, timeoutMs: this.transferTimeout(size) });
  }

  /**
   * Fetches a bundle into `dest` (temp file + rename), verifying its sha256 on the way.
   * Throws NOT_FOUND when the registry lacks it and HASH_MISMATCH when the bytes are wrong.
   */
  async getToFile(sha256: string, dest: string, expectedSize?: number): Promise<BundleInfo> {
    const { content, bulk } = await this.rpc.callWithBulk(
      'getBundle',
      { sha256 },
      { timeoutMs: this.transferTimeout(expectedSize ?? 256 * 1024 * 1024) },
    );
    const tmp = `${dest}.${process.pid}.${Date.now()}.part`;
    const hash = createHash('sha256');
    const fh = await open(tmp, 'w');
    let size = 0;
    try {
      for (const chunk of bulk) {
        hash.update(chunk);
        size += chunk.length;
        await fh.write(chunk);
      }
      await fh.close();
      const got = hash.digest('hex');
      if (got !== sha256 || size !== content.size) {
        throw new FerryError(ErrorCode.HASH_MISMATCH, `bundle ${sha256} arrived with sha256 ${got} (${size} bytes)`);
      }
      await rename(tmp, dest);
      return { sha256, size };
    } catch (err) {
      await fh.close().catch(() => undefined);
      await rm(tmp, { force: true });
      throw err;
    }
  }

  has(sha256: string): Promise<RegistryReplyContent['hasBundle']> {
    return this.rpc.call('hasBundle', { sha256 });
  }

  delete(sha256: string): Promise<RegistryReplyContent['deleteBundle']> {
    return this.rpc.call('deleteBundle', { sha256 });
  }

  close(): Promise<void> {
    return this.rpc.close();
  }

  private transferTimeout(bytes: number): number {
    return this.config.requestTimeoutMs + Math.ceil(bytes / (1024 * 1024)) * TRANSFER_MS_PER_MIB;
  }
}

/** Reads `file` into chunk frames and hashes it in one pass. */
export async function readChunks(file: string): Promise<{ chunks: Buffer[]; sha256: string; size: number }> {
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: BUNDLE_CHUNK_BYTES })) {
    const buf = chunk as Buffer;
    hash.update(buf);
    chunks.push(buf);
    size += buf.length;
  }
  return { chunks, sha256: hash.digest('hex'), size };
}
