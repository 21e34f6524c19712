import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, toFerryError } from '../../../shared/errors.js';
import type { Logger } from '../../../shared/logger.js';
import type { BundleCache } from './bundle-cache.js';
import { CallErrorCode, type CallTask } from '../call-task.js';
import type { Driver, PreparedFunction } from '../drivers/driver.js';

/**
 * How long a function's image bake waits after its quick form was handed out. The bake (Docker:
 * create, copy, commit) loads the engine and the CPU; started at once it competed with the very
 * first call, which it cannot serve anyway (on 2 cores a `docker cp` took ~120 ms during a commit
 * instead of ~50 ms).
 */
const BAKE_DELAY_MS = 2_000;

/** Why a call could not be prepared on this node, as the code the api records. */
export class PrepareError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'PrepareError';
  }
}

/**
 * Makes a function version runnable on this node once: bundle fetched and unpacked, then the
 * driver's one-time step (Docker: an image with code and dependencies). Concurrent calls of a
 * version not yet prepared share one preparation. A version the driver can run at once (no
 * dependencies step) runs in its quick form while its image is baked later, one bake at a time.
 */
export class FunctionPreparer {
  private readonly done = new Map<string, PreparedFunction>();
  private readonly inFlight = new Map<string, Promise<PreparedFunction>>();
  /** The tail of the bake queue. */
  private bakes: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly closing = new AbortController();

  constructor(
    private readonly driver: Driver,
    private readonly bundles: BundleCache,
    private readonly log: Logger,
  ) {}

  prepare(task: CallTask): Promise<PreparedFunction> {
    const key = JSON.stringify([task.function, task.version, task.sha256, task.runtime]);
    const ready = this.done.get(key);
    if (ready) return Promise.resolve(ready);
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.prepareOnce(key, task).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
      this.log.debug({ fn: `${task.function}@${task.version}` }, 'preparing function');
    }
    return pending;
  }

  private async prepareOnce(key: string, task: CallTask): Promise<PreparedFunction> {
    const started = performance.now();
    const codeDir = await this.bundles.codePath(task.sha256, task.size).catch((err: unknown) => {
      const ferr = toFerryError(err);
      const code = ferr.code === ErrorCode.HASH_MISMATCH ? CallErrorCode.BUNDLE_HASH_MISMATCH : CallErrorCode.BUNDLE_UNAVAILABLE;
      throw new PrepareError(code, ferr.message, ferr.retryable || code === CallErrorCode.BUNDLE_UNAVAILABLE);
    });
    const bundleMs = Math.round(performance.now() - started);
    // The sandbox key names code and runtime, not the artifact: a sandbox made from the quick
    // form stays warm for the function once its image is baked.
    const digest = createHash('sha256').update(JSON.stringify([task.sha256, task.runtime])).digest('hex').slice(0, 12);
    const withKey = (made: PreparedFunction): PreparedFunction => ({ ...made, key: `${made.warmKey}#${digest}` });
    const full = (): Promise<PreparedFunction> => this.driver.prepare(task, codeDir).then(withKey, toPrepareError);
    const quick = await this.driver.quickPrepare(task, codeDir).catch(() => null);
    if (quick) {
      const prepared = withKey(quick);
      this.done.set(key, prepared);
      this.bakeLater(key, prepared.warmKey, full);
      this.log.debug({ fn: prepared.warmKey, bundleMs, ms: Math.round(performance.now() - started) }, 'function runs from its runtime image until baked');
      return prepared;
    }
    const prepared = await full();
    this.done.set(key, prepared);
    return prepared;
  }

  /**
   * Starts no more bakes and waits for the one under way: a bake's build container made after the
   * node removed its leftovers would outlive the worker.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.closing.abort();
    await this.bakes;
  }

  /** Queues a bake; once it is done, new sandboxes of the function start from its image. */
  private bakeLater(key: string, fn: string, bake: () => Promise<PreparedFunction>): void {
    const notBefore = Date.now() + BAKE_DELAY_MS;
    this.bakes = this.bakes.then(async () => {
      await sleep(Math.max(0, notBefore - Date.now()), undefined, { ref: false, signal: this.closing.signal }).catch(() => undefined);
      if (this.closed) return;
      try {
        this.done.set(key, await bake());
      } catch (err) {
        this.log.warn({ err, fn }, 'function image not built; calls keep copying the code in');
      }
    });
  }
}

function toPrepareError(err: unknown): never {
  const ferr = toFerryError(err);
  if (ferr.code === ErrorCode.NOT_FOUND) throw new PrepareError(CallErrorCode.IMAGE_MISSING, ferr.message, true);
  if (ferr.code === ErrorCode.BAD_REQUEST) throw new PrepareError(CallErrorCode.DEPENDENCIES_FAILED, ferr.message, false);
  throw new PrepareError(CallErrorCode.SANDBOX_FAILED, String(err instanceof Error ? err.message : err), true);
}
