import { performance } from 'node:perf_hooks';
import type { Logger } from '../../../shared/logger.js';
import { STATS_KEEP_MS } from '../../../shared/protocol/call-stats.js';
import { PassRunner, type PassControl, type PassResult } from '../pass-runner.js';
import type { Calls } from './calls.js';
import { removeExpiredKeys } from './idempotency.js';
import { backfillIndexes } from './index-backfill.js';
import { keys } from './keys.js';
import type { Store } from './store.js';

export interface RetentionOptions {
  /** An ended call is removed this long after it finished, in ms; 0 keeps calls forever. */
  callRetentionMs: number;
  /** Time between passes, in ms. */
  scanMs: number;
  /** Calls (or keys) per LevelDB batch; the event loop gets a turn between batches. Default 500. */
  batch?: number;
  /** See {@link PassRunner}'s pace. Default 1. */
  pace?: number;
}

/**
 * The retention pass over LevelDB: removes ended calls past the retention and expired idempotency
 * keys, in small batches with a turn of the event loop and a rest between them, so requests keep
 * being served while a pass of any size runs.
 */
export class Retention {
  readonly runner: PassRunner;
  private readonly batch: number;
  private backfilled = false;

  constructor(
    private readonly store: Store,
    private readonly calls: Calls,
    private readonly options: RetentionOptions,
    log: Logger,
  ) {
    this.batch = options.batch ?? 500;
    this.runner = new PassRunner((control) => this.pass(control), options.scanMs, log, options.pace ?? 1);
  }

  private async pass(control: PassControl): Promise<PassResult> {
    const now = Date.now();
    // Calls stored before the ended-by-time index must be in it before the first pass can see them (the node index comes with it).
    if (!this.backfilled) this.backfilled = await backfillIndexes(this.store, this.calls, this.batch, control.stopped);
    const expiredKeys = await this.removeExpiredKeys(now, control);
    const old = this.options.callRetentionMs === 0 ? { calls: 0, keys: 0 } : await this.removeOldCalls(now - this.options.callRetentionMs, control);
    await this.removeOldStats(now - STATS_KEEP_MS, control);
    return { removedCalls: old.calls, removedKeys: expiredKeys + old.keys };
  }

  /** Ended calls that finished before `cutoff`, oldest first, by the `ie!` index. */
  private async removeOldCalls(cutoff: number, control: PassControl): Promise<{ calls: number; keys: number }> {
    const total = { calls: 0, keys: 0 };
    let gt: string | undefined;
    // Each slice starts after the last key seen, so an entry left in place cannot stall the pass.
    while (!control.stopped()) {
      const batchStarted = performance.now();
      const slice = await this.store.entriesBetween<string>(keys.byEndPrefix, { gt, lt: keys.byEndBefore(cutoff), limit: this.batch });
      if (slice.length === 0) break;
      const removed = await this.calls.removeEnded(
        slice.map(([endKey, id]) => ({ endKey, id })),
        cutoff,
      );
      total.calls += removed.calls;
      total.keys += removed.keys;
      gt = slice[slice.length - 1]?.[0];
      if (slice.length < this.batch) break;
      await control.rest(batchStarted);
    }
    return total;
  }

  /** Per-slice call counts older than any series shows (kept whatever the call retention). */
  private async removeOldStats(cutoff: number, control: PassControl): Promise<void> {
    while (!control.stopped()) {
      const batchStarted = performance.now();
      if ((await this.calls.stats.prune(cutoff, this.batch)) < this.batch) break;
      await control.rest(batchStarted);
    }
  }

  /** Idempotency keys that expired at or before `now`, by the `ike!` index. */
  private async removeExpiredKeys(now: number, control: PassControl): Promise<number> {
    let removed = 0;
    let gt: string | undefined;
    while (!control.stopped()) {
      const batchStarted = performance.now();
      const slice = await this.store.entriesBetween<string>(keys.idempotencyExpiryPrefix, {
        gt,
        lt: keys.idempotencyExpiryUpTo(now),
        limit: this.batch,
      });
      if (slice.length === 0) break;
      removed += await removeExpiredKeys(
        this.store,
        slice.map(([expiryKey, keyKey]) => ({ expiryKey, keyKey })),
        now,
      );
      gt = slice[slice.length - 1]?.[0];
      if (slice.length < this.batch) break;
      await control.rest(batchStarted);
    }
    return removed;
  }
}
