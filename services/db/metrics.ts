import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { daemonRegistry } from '../../shared/metrics/daemon-registry.js';
import type { CallStatus } from '../../shared/protocol/domain.js';
import type { Refusals } from '../../shared/refusals.js';
import type { BatchObserver } from './level/write-queue.js';

/** Seconds one LevelDB batch may take: from a memtable append to an fsync on a slow disk. */
const WRITE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/** The DB daemon's metrics: its group-commit batches as the write queue cuts them, and its calls by status. */
export class DbMetrics {
  readonly registry: Registry;
  /** Counts a batch written; the store's write queue calls it. */
  readonly onBatch: BatchObserver;
  private callsByStatus: (() => Promise<Record<CallStatus, number>>) | null = null;
  /** Counts a call record written: `create`, `create-and-update` (a new call with what happened to it before its create was written) or `update`. */
  readonly onCallWrite: (write: 'create' | 'create-and-update' | 'update') => void;

  constructor(refusals: Refusals) {
    this.registry = daemonRegistry(refusals);
    const registers = [this.registry];
    const batches = new Counter({ name: 'ferry_db_write_batches_total', help: 'Batches written to LevelDB (each holds every write that arrived while the one before was on disk), or transactions committed to PostgreSQL.', registers });
    const ops = new Counter({ name: 'ferry_db_write_ops_total', help: 'Puts and deletes written to LevelDB in all batches, or statements in PostgreSQL transactions.', registers });
    const seconds = new Histogram({ name: 'ferry_db_write_seconds', help: 'Time LevelDB took to write one batch, or one PostgreSQL transaction from BEGIN to COMMIT.', buckets: WRITE_BUCKETS, registers });
    this.onBatch = (n, s) => {
      batches.inc();
      ops.inc(n);
      seconds.observe(s);
    };
    const callWrites = new Counter({ name: 'ferry_db_call_writes_total', help: 'Call records written, by kind of write.', labelNames: ['write'] as const, registers });
    this.onCallWrite = (write) => callWrites.inc({ write });
    const calls = (): Promise<Record<CallStatus, number>> | undefined => this.callsByStatus?.();
    new Gauge({
      name: 'ferry_db_calls',
      help: 'Calls in the store by status (ended calls until retention removes them).',
      labelNames: ['status'] as const,
      registers,
      async collect() {
        for (const [status, n] of Object.entries((await calls()) ?? {})) this.set({ status }, n);
      },
    });
  }

  /** Shows the store's counts of calls by status from now on (read at each scrape). */
  showCalls(callsByStatus: () => Promise<Record<CallStatus, number>>): void {
    this.callsByStatus = callsByStatus;
  }
}
