import { mkdir } from 'node:fs/promises';
import { Level } from 'level';
import { Packr } from 'msgpackr';
import { CallStatus } from '../../../shared/protocol/domain.js';
import { KeyedLock } from '../keyed-lock.js';
import { END, keys } from './keys.js';
import { WriteQueue, type BatchObserver, type BatchOp } from './write-queue.js';

export interface StoreCounters {
  lastCallNum: number;
  callsByStatus: Record<CallStatus, number>;
}

const packr = new Packr({ useRecords: false, mapsAsObjects: true });

/** Values are msgpack: smaller and faster to encode than JSON, the DB's main CPU cost. */
const msgpackEncoding = {
  name: 'ferry-msgpack',
  format: 'view' as const,
  encode: (value: unknown): Uint8Array => packr.pack(value),
  decode: (bytes: Uint8Array): unknown => packr.unpack(bytes),
};

const zeroByStatus = (): Record<CallStatus, number> =>
  Object.fromEntries(Object.values(CallStatus).map((s) => [s, 0])) as Record<CallStatus, number>;

/**
 * The LevelDB the DB daemon owns, with what every collection shares: group-committed writes,
 * per-key locks, and counters kept in memory and written with the batch that changes them.
 */
export class Store {
  readonly lock = new KeyedLock();
  readonly counters: StoreCounters = { lastCallNum: 0, callsByStatus: zeroByStatus() };
  private readonly queue: WriteQueue;
  private countersDirty = false;

  private constructor(readonly db: Level<string, unknown>, sync: boolean, onBatch?: BatchObserver) {
    this.queue = new WriteQueue(db, sync, () => this.counterOps(), onBatch);
  }

  /** Opens (or makes) the store in `dir`; `onBatch` hears of each batch written (the metrics). */
  static async open(dir: string, options: { sync: boolean; onBatch?: BatchObserver }): Promise<Store> {
    await mkdir(dir, { recursive: true });
    const db = new Level<string, unknown>(dir, { keyEncoding: 'utf8', valueEncoding: msgpackEncoding });
    await db.open();
    const store = new Store(db, options.sync, options.onBatch);
    await store.loadCounters();
    return store;
  }

  write(ops: BatchOp[]): Promise<void> {
    return this.queue.write(ops);
  }

  /**
   * Point reads are synchronous: a LevelDB get from the memtable or block cache takes
   * microseconds, far less than a round trip through the thread pool.
   */
  async get<T>(key: string): Promise<T | undefined> {
    return this.db.getSync(key) as T | undefined;
  }

  /** Values under `prefix`, in key order (newest last for padded numbers). */
  async values<T>(prefix: string, options: { reverse?: boolean; limit?: number } = {}): Promise<T[]> {
    return (await this.db.values({ gte: prefix, lt: prefix + END, ...options }).all()) as T[];
  }

  async keysUnder(prefix: string, options: { reverse?: boolean; limit?: number; lt?: string } = {}): Promise<string[]> {
    return this.db.keys({ gte: prefix, lt: options.lt ?? prefix + END, reverse: options.reverse, limit: options.limit }).all();
  }

  /** Up to `limit` entries with keys after `gt` (or from `prefix`) and before `lt`, in key order. */
  async entriesBetween<T>(prefix: string, options: { gt?: string; lt: string; limit: number }): Promise<[string, T][]> {
    const range = options.gt === undefined ? { gte: prefix } : { gt: options.gt };
    return (await this.db.iterator({ ...range, lt: options.lt, limit: options.limit }).all()) as [string, T][];
  }

  /**
   * Records a status change in the in-memory counts (`from` null: a new call; `to` null: a
   * removed one); the next batch persists them.
   */
  countStatus(from: CallStatus | null, to: CallStatus | null): void {
    if (from !== null) this.counters.callsByStatus[from] -= 1;
    if (to !== null) this.counters.callsByStatus[to] += 1;
    this.countersDirty = true;
  }

  nextCallNum(): number {
    this.counters.lastCallNum += 1;
    this.countersDirty = true;
    return this.counters.lastCallNum;
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  private counterOps(): BatchOp[] {
    if (!this.countersDirty) return [];
    this.countersDirty = false;
    return [
      { type: 'put', key: keys.counter('lastCallNum'), value: this.counters.lastCallNum },
      { type: 'put', key: keys.counter('callsByStatus'), value: { ...this.counters.callsByStatus } },
    ];
  }

  private async loadCounters(): Promise<void> {
    const last = await this.get<number>(keys.counter('lastCallNum'));
    const byStatus = await this.get<Record<CallStatus, number>>(keys.counter('callsByStatus'));
    this.counters.lastCallNum = last ?? 0;
    Object.assign(this.counters.callsByStatus, byStatus ?? {});
  }
}
