import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../../shared/logger.js';
import { STATS_KEEP_MS } from '../../../shared/protocol/call-stats.js';
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
  /**
   * After each batch the pass rests this many times as long as the batch took, so it takes at
   * most 1 / (1 + pace) of the daemon's time and backs off as load slows its batches. Default 1;
   * 0 rests only for one turn of the event loop.
   */
  pace?: number;
}

export interface PassResult {
  removedCalls: number;
  /** Idempotency key records removed: expired ones, and those of removed calls. */
  removedKeys: number;
}

type State = 'idle' | 'running' | 'stopped';

/**
 * The retention pass: removes ended calls past the retention and expired idempotency keys, in
 * small batches with a turn of the event loop and a rest between them, so requests keep being
 * served while a pass of any size runs. One pass at a time: one runs at start, then one `scanMs` after each
 * ends, and {@link runNow} starts one when none runs (or queues one behind the running pass).
 */
export class Retention {
  private state: State = 'idle';
  private running: Promise<PassResult> | undefined;
  private queued: Promise<PassResult> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly batch: number;
  private readonly pace: number;
  private backfilled = false;

  constructor(
    private readonly store: Store,
    private readonly calls: Calls,
    private readonly options: RetentionOptions,
    private readonly log: Logger,
  ) {
    this.batch = options.batch ?? 500;
    this.pace = options.pace ?? 1;
  }

  /** Runs a pass now and then every `scanMs`. */
  start(): void {
    void this.tick();
  }

  /**
   * Runs a pass and answers what it removed. A pass already running may have chosen its cutoff
   * before this request, so the request waits for the pass after it; requests that arrive while
   * that one waits share it.
   */
  runNow(): Promise<PassResult> {
    if (this.running === undefined) return this.begin();
    this.queued ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.begin();
      });
    return this.queued;
  }

  /** Stops the timer and waits for a running pass to stop at its next batch. Idempotent. */
  async stop(): Promise<void> {
    this.state = 'stopped';
    if (this.timer !== undefined) clearTimeout(this.timer);
    await Promise.allSettled([this.running, this.queued]);
  }

  private async tick(): Promise<void> {
    try {
      await this.runNow();
    } catch (err) {
      this.log.error({ err }, 'retention pass failed');
    }
    if (this.state === 'stopped') return;
    this.timer = setTimeout(() => void this.tick(), this.options.scanMs);
    this.timer.unref();
  }

  private begin(): Promise<PassResult> {
    if (this.state === 'stopped') return Promise.resolve({ removedCalls: 0, removedKeys: 0 });
    this.state = 'running';
    const pass = this.pass().finally(() => {
      if (this.running === pass) this.running = undefined;
      if (this.state === 'running') this.state = 'idle';
    });
    this.running = pass;
    return pass;
  }

  private async pass(): Promise<PassResult> {
    const started = performance.now();
    const now = Date.now();
    const stopped = (): boolean => this.state === 'stopped';
    // Calls stored before the ended-by-time index must be in it before the first pass can see them (the node index comes with it).
    if (!this.backfilled) this.backfilled = await backfillIndexes(this.store, this.calls, this.batch, stopped);
    const expiredKeys = await this.removeExpiredKeys(now);
    const old = this.options.callRetentionMs === 0 ? { calls: 0, keys: 0 } : await this.removeOldCalls(now - this.options.callRetentionMs);
    await this.removeOldStats(now - STATS_KEEP_MS);
    const result: PassResult = { removedCalls: old.calls, removedKeys: expiredKeys + old.keys };
    if (result.removedCalls > 0 || result.removedKeys > 0) {
      this.log.info({ ...result, ms: Math.round(performance.now() - started) }, 'retention pass');
    }
    return result;
  }

  /** Ended calls that finished before `cutoff`, oldest first, by the `ie!` index. */
  private async removeOldCalls(cutoff: number): Promise<{ calls: number; keys: number }> {
    const total = { calls: 0, keys: 0 };
    let gt: string | undefined;
    // Each slice starts after the last key seen, so an entry left in place cannot stall the pass.
    while (this.state !== 'stopped') {
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
      await this.rest(batchStarted);
    }
    return total;
  }

  /** Per-slice call counts older than any series shows (kept whatever the call retention). */
  private async removeOldStats(cutoff: number): Promise<void> {
    while (this.state !== 'stopped') {
      const batchStarted = performance.now();
      if ((await this.calls.stats.prune(cutoff, this.batch)) < this.batch) break;
      await this.rest(batchStarted);
    }
  }

  /** Idempotency keys that expired at or before `now`, by the `ike!` index. */
  private async removeExpiredKeys(now: number): Promise<number> {
    let removed = 0;
    let gt: string | undefined;
    while (this.state !== 'stopped') {
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
      await this.rest(batchStarted);
    }
    return removed;
  }

  /**
   * Between two batches: a turn of the event loop, so requests that arrived during the batch are
   * read, then a rest as long as the batch took (times `pace`). A batch of 500 calls is ~2,500
   * deletes whose encoding runs on the event loop; without the rest a large pass took about two
   * thirds of the daemon's time (test/bench: pairs/s fell to ~35 % while it ran, ~75 % with it).
   */
  private async rest(batchStarted: number): Promise<void> {
    await nextTurn();
    if (this.pace > 0) await sleep((performance.now() - batchStarted) * this.pace);
  }
}
