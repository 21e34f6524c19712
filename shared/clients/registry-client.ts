import { createReadStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import type { ClientConfig } from '../config.js';
import { moduleLogger, type Logger } from '../logger.js';
import { BUNDLE_CHUNK_BYTES, type RegistryReplyContent, type RegistryRequestContent } from '../protocol/registry-messages.js';
import type { ClientCurve } from '../security/curve-client.js';
import { RpcClient } from '../transport/rpc-client.js';
import { downloadBundle } from './bundle-download.js';
import { BundleUpload } from './bundle-upload.js';

/** Generous per-MiB allowance on top of the base timeout for whole-bundle requests (one message, or a commit's fsync). */
const TRANSFER_MS_PER_MIB = 200;

export interface BundleInfo {
  sha256: string;
  size: number;
}

/**
 * Client of the registry daemon. Bundles move in parts of a few MiB, several in flight, streamed
 * from and to their source and sink, so each side holds only the parts in flight, never a bundle.
 */
export class RegistryClient {
  readonly rpc: RpcClient<RegistryRequestContent, RegistryReplyContent>;
  private readonly log: Logger;

  /** `curve`: this daemon's keys and the registry's public key; null with FERRY_CURVE=off. */
  constructor(
    private readonly config: Pick<ClientConfig, 'registryAddr' | 'requestTimeoutMs' | 'requestRetries'>,
    curve: ClientCurve | null,
  ) {
    this.log = moduleLogger('registry-client');
    this.rpc = new RpcClient<RegistryRequestContent, RegistryReplyContent>({
      curve,
      endpoint: config.registryAddr,
      timeoutMs: config.requestTimeoutMs,
      retries: config.requestRetries,
      log: this.log,
    });
  }

  /**
   * A new upload: write the bundle's bytes to it, then commit (or abort). Nothing is stored before
   * the commit, and then only if the registry got every byte written, in order.
   */
  upload(): BundleUpload {
    return new BundleUpload(this.rpc, { partMs: this.config.requestTimeoutMs, commitMs: (bytes) => this.transferTimeout(bytes) }, this.log);
  }

  /** Streams a file to the registry. Resolves with its sha256 (as the registry hashed it) and size. */
  async putFile(file: string): Promise<BundleInfo & { stored: boolean }> {
    const upload = this.upload();
    try {
      for await (const chunk of createReadStream(file, { highWaterMark: BUNDLE_CHUNK_BYTES })) await upload.write(chunk as Buffer);
      return await upload.commit();
    } finally {
      await upload.abort(); // a no-op once committed
    }
  }

  /** Stores frames already in memory in one message (tests and small bundles); `sha256` is what the registry must verify. */
  async putChunks(chunks: Buffer[], sha256: string, size: number): Promise<BundleInfo & { stored: boolean }> {
    return this.rpc.call('putBundle', { sha256, size }, { bulk: chunks, timeoutMs: this.transferTimeout(size) });
  }

  /**
   * Streams bundle `sha256` to `sink` in order (see {@link downloadBundle}): the bytes are verified
   * only when this resolves. Throws NOT_FOUND when the registry lacks it and HASH_MISMATCH when
   * the bytes are wrong.
   */
  download(sha256: string, sink: (bytes: Buffer) => Promise<void> | void): Promise<BundleInfo> {
    return downloadBundle(this.rpc, sha256, sink, this.config.requestTimeoutMs);
  }

  /**
   * Fetches a bundle into `dest` (temp file + rename), verifying its sha256 on the way.
   * Throws NOT_FOUND when the registry lacks it and HASH_MISMATCH when the bytes are wrong.
   * `expectedSize` is accepted for callers of the whole-bundle era and no longer needed.
   */
  async getToFile(sha256: string, dest: string, _expectedSize?: number): Promise<BundleInfo> {
    const tmp = `${dest}.${process.pid}.${Date.now()}.part`;
    const fh = await open(tmp, 'w');
    try {
      const info = await this.download(sha256, async (bytes) => {
        await fh.write(bytes);
      });
      await fh.close();
      await rename(tmp, dest);
      return info;
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
