import type { DbClient } from '../../shared/clients/db-client.js';
import type { Logger } from '../../shared/logger.js';

/** The lease the scheduling api holds in the store. */
export const SCHEDULER_LEASE = 'scheduler';

export interface SchedulingLeaseOptions {
  db: DbClient;
  ttlMs: number;
  log: Logger;
  /** This api now schedules, under `epoch` (higher than any scheduler's before it): it takes over, and answers once it has. */
  onGained(epoch: number): Promise<void>;
  /**
   * Another api holds the lease this one held: it schedules now, and this api must stop at once
   * (its queue and calls in flight are the new scheduler's, recovered from the store).
   */
  onLostToAnother(holder: string): void;
}

/**
 * Which api daemon schedules: the holder of a lease in the store, renewed three times per
 * lease, by the store's clock. The others stand by and know the holder's URL. A renewal the store
 * does not answer (it is down or unreachable) leaves the holder holding, but {@link canSchedule}
 * turns false once the lease may have run out since the last renewal the store granted, so two
 * apis never dispatch at once; workers fence by epoch besides.
 */
export class SchedulingLease {
  private timer: NodeJS.Timeout | undefined;
  private epoch = 0;
  private holdsUntil = 0;
  private leader: { holder: string; url: string | null } | null = null;
  private stopped = false;
  private running: Promise<void> | undefined;
  /** Where the other apis reach this one's HTTP, told with the lease; it also names this api as the lease's holder. */
  private url = '';
  private takingOver: Promise<void> = Promise.resolve();
  private readonly firstAnswer: Promise<void>;
  private answered: () => void = () => undefined;

  constructor(private readonly opts: SchedulingLeaseOptions) {
    this.firstAnswer = new Promise<void>((resolve) => (this.answered = resolve));
  }

  /**
   * Asks for the lease now, then every third of its life; answers once this api knows whether it
   * schedules (and, when it does, has taken over).
   */
  async start(url: string): Promise<void> {
    this.url = url;
    await this.renew();
    this.answered();
    this.timer = setInterval(() => void this.renew(), Math.max(100, Math.floor(this.opts.ttlMs / 3)));
    await this.takingOver;
  }

  /** Settles once this api knows whether it schedules, and, when it does, has taken over (requests wait for it). */
  async settled(): Promise<void> {
    await this.firstAnswer;
    await this.takingOver;
  }

  /** Whether this api may dispatch now: it holds the lease and the store granted it recently enough. */
  get canSchedule(): boolean {
    return this.epoch > 0 && performance.now() < this.holdsUntil;
  }

  /** The URL of the api that schedules, when another one does. */
  get leaderUrl(): string | null {
    return this.leader !== null && this.leader.holder !== this.url ? this.leader.url : null;
  }

  /** Stops renewing and gives the lease up, so a standby takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
    if (this.epoch > 0) await this.opts.db.call('dropLease', { name: SCHEDULER_LEASE, holder: this.url }).catch(() => undefined);
  }

  private renew(): Promise<void> {
    if (this.stopped || this.running) return this.running ?? Promise.resolve();
    this.running = this.ask().finally(() => (this.running = undefined));
    return this.running;
  }

  private async ask(): Promise<void> {
    const askedAt = performance.now();
    let lease;
    try {
      lease = await this.opts.db.call('takeLease', { name: SCHEDULER_LEASE, holder: this.url, ttlMs: this.opts.ttlMs, info: { url: this.url } });
    } catch (err) {
      if (this.epoch > 0 && !this.canSchedule) this.opts.log.warn({ err }, 'the store did not renew the scheduling lease in time: dispatching paused');
      return;
    }
    if (this.stopped) return;
    this.leader = { holder: lease.holder, url: lease.info['url'] ?? null };
    if (lease.mine) {
      // Timed from when it was asked: the store's clock started the lease no earlier than that.
      this.holdsUntil = askedAt + this.opts.ttlMs;
      if (this.epoch !== lease.epoch) {
        this.epoch = lease.epoch;
        this.opts.log.info({ epoch: lease.epoch, holder: this.url }, 'scheduling: this api holds the lease');
        this.takingOver = this.opts.onGained(lease.epoch).catch((err: unknown) => this.opts.log.error({ err }, 'could not take over the scheduling'));
      }
    } else if (this.epoch > 0) {
      this.epoch = 0;
      this.opts.onLostToAnother(lease.holder);
    }
  }
}
