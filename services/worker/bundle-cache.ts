import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { nanoid } from 'nanoid';
import * as tar from 'tar';
import type { RegistryClient } from '../../shared/clients/registry-client.js';
import { ErrorCode, FerryError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { pathExists } from './path-exists.js';

/**
 * The node's bundle cache: each bundle is fetched from the registry once per node (concurrent
 * asks for one bundle share one fetch), verified by sha256, and unpacked into
 * `<dir>/code/<sha256>/`, which drivers copy into containers or sandboxes.
 */
export class BundleCache {
  private readonly inFlight = new Map<string, Promise<string>>();
  private readonly tmpDir: string;
  private readonly codeDir: string;

  constructor(
    dir: string,
    private readonly registry: RegistryClient,
    private readonly log: Logger,
  ) {
    this.tmpDir = path.join(dir, 'tmp');
    this.codeDir = path.join(dir, 'code');
  }

  async init(): Promise<void> {
    await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true });
    await mkdir(this.codeDir, { recursive: true });
  }

  /** The folder holding bundle `sha256` unpacked; fetches it first if this node lacks it. */
  codePath(sha256: string, size: number): Promise<string> {
    let pending = this.inFlight.get(sha256);
    if (!pending) {
      pending = this.ensure(sha256, size).finally(() => this.inFlight.delete(sha256));
      this.inFlight.set(sha256, pending);
    }
    return pending;
  }

  private async ensure(sha256: string, size: number): Promise<string> {
    const final = path.join(this.codeDir, sha256);
    if (await pathExists(final)) return final;
    const started = Date.now();
    const archive = path.join(this.tmpDir, `${sha256}.tgz`);
    const unpacked = path.join(this.tmpDir, `${sha256}-${nanoid(6)}`);
    try {
      await this.registry.getToFile(sha256, archive, size);
      await mkdir(unpacked);
      // The api checked entries on upload; unpack defensively anyway (no links, no escaping paths).
      await tar.x({
        file: archive,
        cwd: unpacked,
        strict: true,
        preservePaths: false,
        filter: (_p, entry) => 'type' in entry && (entry.type === 'File' || entry.type === 'Directory'),
      });
      await rename(unpacked, final);
      this.log.info({ sha256, size, ms: Date.now() - started }, 'bundle cached');
      return final;
    } catch (err) {
      await rm(unpacked, { recursive: true, force: true });
      if (err instanceof FerryError) {
        if (err.code === ErrorCode.HASH_MISMATCH) throw err;
        throw new FerryError(err.code, `bundle ${sha256} unavailable: ${err.message}`, { retryable: err.retryable });
      }
      throw new FerryError(ErrorCode.BAD_REQUEST, `bundle ${sha256} could not be unpacked: ${String(err)}`);
    } finally {
      await rm(archive, { force: true });
    }
  }
}

