import os from 'node:os';
import { MessageChannel, Worker } from 'node:worker_threads';
import { ErrorCode, FerryError } from '../../../shared/errors.js';
import type { Logger } from '../../../shared/logger.js';
import { BundleCheck } from './bundle-check.js';
import type { BundleLimits, PoolToThread } from './check-messages.js';

interface CheckThread {
  worker: Worker;
  checks: Set<BundleCheck>;
}

/**
 * Check threads for the api's uploads. A small pool, not a thread per upload: a check is CPU
 * work, so more threads than spare cores buys nothing, while each thread costs ~10 MiB and tens
 * of milliseconds to start, which a push should not pay. Threads start on demand up to
 * `maxThreads`, stay for later pushes, and each serves any number of checks at once, taking turns
 * a piece at a time, so a push never waits in line behind another's whole bundle. By default one
 * thread per core beyond the api's own, at most 4; each runs at a low priority (see
 * `check-thread.ts`).
 */
export class BundleCheckPool {
  private readonly threads: CheckThread[] = [];
  private closing = false;

  constructor(
    private readonly log: Logger,
    private readonly maxThreads = Math.min(4, Math.max(1, os.availableParallelism() - 1)),
  ) {}

  /** Starts the first thread ahead of the first push, so that push does not pay for it. */
  warm(): void {
    if (!this.closing && this.threads.length === 0) this.start();
  }

  /** A new check of one bundle, on the least busy thread. Throws CLOSED once the pool is closed. */
  open(limits: BundleLimits): BundleCheck {
    if (this.closing) throw new FerryError(ErrorCode.CLOSED, 'the api is shutting down');
    const thread = this.pick();
    const { port1, port2 } = new MessageChannel();
    const check: BundleCheck = new BundleCheck(port1, () => thread.checks.delete(check));
    thread.checks.add(check);
    const open: PoolToThread = { type: 'open', port: port2, limits };
    thread.worker.postMessage(open, [port2]);
    return check;
  }

  /** Stops every thread; checks still open fail with CLOSED. Idempotent. */
  async close(): Promise<void> {
    this.closing = true;
    const threads = this.threads.splice(0);
    for (const t of threads) for (const check of t.checks) check.fail(new FerryError(ErrorCode.CLOSED, 'the api is shutting down'));
    await Promise.allSettled(threads.map((t) => t.worker.terminate()));
  }

  private pick(): CheckThread {
    const idlest = this.threads.reduce<CheckThread | undefined>((best, t) => (!best || t.checks.size < best.checks.size ? t : best), undefined);
    if (idlest && (idlest.checks.size === 0 || this.threads.length >= this.maxThreads)) return idlest;
    return this.start();
  }

  private start(): CheckThread {
    const worker = new Worker(new URL('./check-thread.js', import.meta.url));
    // An idle pool must not keep the process alive; an open check's port does while it runs.
    worker.unref();
    const thread: CheckThread = { worker, checks: new Set() };
    let lost = false;
    const onLost = (err: unknown): void => {
      if (lost) return;
      lost = true;
      const i = this.threads.indexOf(thread);
      if (i >= 0) this.threads.splice(i, 1);
      if (this.closing) return;
      this.log.error({ err, checks: thread.checks.size }, 'bundle check thread lost');
      for (const check of thread.checks) check.fail(new FerryError(ErrorCode.UNAVAILABLE, 'the bundle check failed; push again'));
    };
    worker.on('error', onLost);
    worker.on('exit', (code) => onLost(new Error(`exited with code ${code}`)));
    this.threads.push(thread);
    return thread;
  }
}
