import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { nanoid } from 'nanoid';
import * as tar from 'tar';
import { TarFeed } from './tar-feed.js';
import type { RegistryClient } from '../../../shared/clients/registry-client.js';
import { ErrorCode, FerryError } from '../../../shared/errors.js';
import type { Logger } from '../../../shared/logger.js';
import { pathExists } from '../path-exists.js';

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
    /** Told of the bytes of each piece of a bundle as it arrives from the registry. */
    private readonly onPulled: (bytes: number) => void = () => undefined,
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
    const unpacked = path.join(this.tmpDir, `${sha256}-${nanoid(6)}`);
    try {
      await mkdir(unpacked);
      // Unpacked while it downloads, into a temp folder that only becomes the cache entry once
      // the whole bundle's sha256 has checked out; a bad bundle's files are removed unseen.
      await this.fetchUnpacked(sha256, unpacked);
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
    }
  }

  /** Streams the bundle from the registry through the unpacker; settles once both are done. */
  private async fetchUnpacked(sha256: string, dir: string): Promise<void> {
    // The api checked entries on upload; unpack defensively anyway (no links, no escaping paths).
    const unpack = new tar.Unpack({
      cwd: dir,
      strict: true,
      preservePaths: false,
      filter: (_p, entry) => {
        if (!('type' in entry) || (entry.type !== 'File' && entry.type !== 'Directory')) return false;
        // Readable by every user (folders searchable): calls run as an unprivileged user, not as the node.
        if (entry.mode !== undefined) entry.mode |= entry.type === 'Directory' ? 0o555 : 0o444;
        return true;
      },
    });
    let unpackError: Error | null = null;
    // An inflater failure ends the unpacker too, so waiting for it below cannot hang.
    const feed = new TarFeed(unpack, (err) => unpack.abort(err));
    const unpacked = new Promise<void>((resolve) => {
      unpack.on('close', resolve);
      unpack.on('error', (err: Error) => {
        unpackError ??= err;
        feed.destroy();
        resolve();
      });
    });
    try {
      await this.registry.download(sha256, async (bytes) => {
        if (unpackError) throw unpackError;
        this.onPulled(bytes.length);
        await feed.write(bytes);
      });
    } catch (err) {
      feed.destroy();
      unpack.abort(err instanceof Error ? err : new Error(String(err)));
      await unpacked;
      throw err;
    }
    feed.end();
    await unpacked;
    if (unpackError) throw unpackError;
  }
}
