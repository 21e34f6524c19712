import { createHash } from 'node:crypto';
import { ErrorCode, toFerryError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { BundleCache } from './bundle-cache.js';
import { CallErrorCode, type CallTask } from './call-task.js';
import type { Driver, PreparedFunction } from './drivers/driver.js';

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
 * version not yet prepared share one preparation.
 */
export class FunctionPreparer {
  private readonly done = new Map<string, PreparedFunction>();
  private readonly inFlight = new Map<string, Promise<PreparedFunction>>();

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
      pending = (async () => {
        const codeDir = await this.bundles.codePath(task.sha256, task.size).catch((err: unknown) => {
          const ferr = toFerryError(err);
          const code = ferr.code === ErrorCode.HASH_MISMATCH ? CallErrorCode.BUNDLE_HASH_MISMATCH : CallErrorCode.BUNDLE_UNAVAILABLE;
          throw new PrepareError(code, ferr.message, ferr.retryable || code === CallErrorCode.BUNDLE_UNAVAILABLE);
        });
        // The sandbox key names code and runtime, not the artifact: a sandbox made from the quick
        // form stays warm for the function once its image is baked.
        const digest = createHash('sha256').update(JSON.stringify([task.sha256, task.runtime])).digest('hex').slice(0, 12);
        const withKey = (made: PreparedFunction): PreparedFunction => ({ ...made, key: `${made.warmKey}#${digest}` });
        const full = this.driver.prepare(task, codeDir).then(withKey, (err: unknown) => {
          const ferr = toFerryError(err);
          if (ferr.code === ErrorCode.NOT_FOUND) throw new PrepareError(CallErrorCode.IMAGE_MISSING, ferr.message, true);
          if (ferr.code === ErrorCode.BAD_REQUEST) throw new PrepareError(CallErrorCode.DEPENDENCIES_FAILED, ferr.message, false);
          throw new PrepareError(CallErrorCode.SANDBOX_FAILED, String(err instanceof Error ? err.message : err), true);
        });
        const quick = await this.driver.quickPrepare(task, codeDir).catch(() => null);
        if (quick) {
          // Run now from the runtime image; the baked image takes over when it is ready.
          full.then(
            (baked) => this.done.set(key, baked),
            (err: unknown) => this.log.warn({ err, fn: quick.warmKey }, 'function image not built; calls keep copying the code in'),
          );
          const prepared = withKey(quick);
          if (!this.done.has(key)) this.done.set(key, prepared);
          return prepared;
        }
        const prepared = await full;
        this.done.set(key, prepared);
        return prepared;
      })().finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
      this.log.debug({ fn: `${task.function}@${task.version}` }, 'preparing function');
    }
    return pending;
  }
}
