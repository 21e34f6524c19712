import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../shared/logger.js';

export interface PassResult {
  removedCalls: number;
  /** Idempotency key records removed: expired ones, and those of removed calls. */
  removedKeys: number;
}

/** What a pass is given: whether to stop, and a rest to take between its batches. */
export interface PassControl {
  stopped(): boolean;
  /**
   * Between two batches: a turn of the event loop, so requests that arrived during the batch are
   * read, then a rest as long as the batch took (times `pace`). A batch of 500 calls is ~2,500
   * deletes whose encoding runs on the event loop; without the rest a large pass took about two
   * thirds of the daemon's time (test/bench: pairs/s fell to ~35 % while it ran, ~75 % with it).
   */
  rest(batchStarted: number): Promise<void>;
}

type State = 'idle' | 'running' | 'stopped';

/**
 * Runs a store's retention pass: one at a time, one at start, then one `scanMs` after each ends;
 * {@link runNow} starts one when none runs (or queues one behind the running pass).
 */
export class PassRunner {
  private state: State = 'idle';
  private running: Promise<PassResult> | undefined;
  private queued: Promise<PassResult> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly control: PassControl;

  constructor(
    private readonly pass: (control: PassControl) => Promise<PassResult>,
    private readonly scanMs: number,
    private readonly log: Logger,
    /** After each batch a pass rests this many times as long as the batch took (see {@link PassControl.rest}); 0 rests one turn. */
    pace = 1,
  ) {
    this.control = {
      stopped: () => this.state === 'stopped',
      rest: async (batchStarted) => {
        await nextTurn();
        if (pace > 0) await sleep((performance.now() - batchStarted) * pace);
      },
    };
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
    this.timer = setTimeout(() => void this.tick(), this.scanMs);
    this.timer.unref();
  }

  private begin(): Promise<PassResult> {
    if (this.state === 'stopped') return Promise.resolve({ removedCalls: 0, removedKeys: 0 });
    this.state = 'running';
    const started = performance.now();
    const pass = this.pass(this.control)
      .then((result) => {
        if (result.removedCalls > 0 || result.removedKeys > 0) {
          this.log.info({ ...result, ms: Math.round(performance.now() - started) }, 'retention pass');
        }
        return result;
      })
      .finally(() => {
        if (this.running === pass) this.running = undefined;
        if (this.state === 'running') this.state = 'idle';
      });
    this.running = pass;
    return pass;
  }
}
