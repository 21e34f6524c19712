import { NotFoundError } from '../../../shared/errors.js';
import type { CallPage, DbParsedContent, DbReplyContent } from '../../../shared/protocol/db-messages.js';
import type { Call } from '../../../shared/protocol/domain.js';
import { indexKeys, indexOps } from './call-indexes.js';
import { endedAt, newCall, updatedCall, withDefaults } from '../call-rules.js';
import type { Groups } from './groups.js';
import { claimOps, dropOps, idempotencyLockKey, readKey } from './idempotency.js';
import { checkParams, isLive } from '../idempotency-rules.js';
import { FAILED_STATUSES } from '../../../shared/protocol/call-stats.js';
import { listCalls, type ScanBounds } from './call-list.js';
import { CallStats } from './call-stats.js';
import { firstCallOps, nodeIndexReady } from './index-backfill.js';
import { END, keys } from './keys.js';
import type { Store } from './store.js';
import type { BatchOp } from './write-queue.js';

type CallRef = { id: string } | { callNum: number };

/** Records read at a time while looking for recent failures. */
const RECENT_SLICE = 100;

/**
 * The call store. A call record and all of its index entries change in one atomic batch, and
 * updates are compare-and-set so a stale writer (an old attempt, a lost worker) loses.
 */
export class Calls {
  /** Recent calls by id, written through: updates of a live call never read LevelDB. */
  private readonly cache = new Map<string, Call>();
  /** Calls started and ended per slice of time, moved in the batch of each change. */
  readonly stats: CallStats;
  /**
   * The newest call's creation time (read from the store at the first create): a new call's is
   * never earlier, so callNum order is createdAt order and a time window is a range of numbers.
   */
  private lastCreatedAt: number | undefined;

  constructor(
    private readonly store: Store,
    /** Each group's counts move in the same batch as its calls' status changes. */
    private readonly groups: Groups,
    /** How far one list request reads when its filters leave calls to look at one by one (see {@link listCalls}). */
    private readonly scanBounds: ScanBounds = { entries: 5_000, ms: 6 },
    private readonly cacheEntries = 100_000,
  ) {
    this.stats = new CallStats(store);
  }

  private remember(call: Call): void {
    this.cache.delete(call.id);
    this.cache.set(call.id, call);
    if (this.cache.size > this.cacheEntries) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
  }

  private async load(id: string): Promise<Call | undefined> {
    const cached = this.cache.get(id);
    if (cached) return cached;
    const stored = await this.store.get<Call>(keys.call(id));
    return stored && withDefaults(stored);
  }

  /**
   * Creates a PENDING (HELD with `hold`) call with the next callNum. Creating an id that exists
   * answers that call. With `idempotency`, a live key of the function answers the call it made
   * (`replayed`), or throws IDEMPOTENCY_CONFLICT when the params differ; the new call and its key
   * record are written in one batch.
   */
  create(spec: DbParsedContent['createCall']): Promise<DbReplyContent['createCall']> {
    const idem = spec.idempotency;
    // The id and the key are taken together: a resent create and a create with the same key
    // each wait for the other, and no create ever holds one while waiting for the other.
    return idem === undefined
      ? this.store.lock.run(spec.id, () => this.createLocked(spec))
      : this.store.lock.runMany([spec.id, idempotencyLockKey(spec.funcName, idem.key)], () => this.createLocked(spec));
  }

  private async createLocked(spec: DbParsedContent['createCall']): Promise<DbReplyContent['createCall']> {
    const id = spec.id;
    const existing = await this.load(id);
    if (existing) return existing;
    if (this.lastCreatedAt === undefined) {
      const newest = (await this.store.keysUnder(keys.byNumPrefix, { reverse: true, limit: 1 }))[0];
      const newestId = newest === undefined ? undefined : await this.store.get<string>(newest);
      const createdAt = newestId === undefined ? 0 : ((await this.load(newestId))?.createdAt ?? 0);
      // Another create may have set it meanwhile: never lower it.
      this.lastCreatedAt = Math.max(this.lastCreatedAt ?? 0, createdAt);
    }
    const now = Date.now();
    const ops: BatchOp[] = [];
    const idem = spec.idempotency;
    if (idem !== undefined) {
      const rec = await readKey(this.store, spec.funcName, idem.key);
      // A live key whose call is gone (it cannot be: retention removes both) is taken over.
      const earlier = rec && isLive(rec, now) ? await this.load(rec.callId) : undefined;
      if (rec && earlier) {
        checkParams(rec, idem.paramsHash);
        return { ...earlier, replayed: true };
      }
      ops.push(...claimOps(spec.funcName, idem, id, now, rec));
    }
    // Taken with the number, in the same turn: a clock stepped back holds it at the last one.
    const stored = newCall(spec, this.store.nextCallNum(), (this.lastCreatedAt = Math.max(now, this.lastCreatedAt)), now);
    // First: a call naming a group that does not exist fails here, before anything is counted.
    const groupOps = this.groups.followCall(null, stored);
    this.store.countStatus(null, stored.status);
    ops.push(
      { type: 'put', key: keys.call(id), value: stored },
      ...indexOps(null, stored),
      ...groupOps,
      ...this.stats.follow(null, stored),
      ...firstCallOps(this.store, stored.callNum),
    );
    await this.store.write(ops);
    this.remember(stored);
    return stored;
  }

  /**
   * Applies `set` if the call still matches `expect`; throws CONFLICT (not retryable) otherwise.
   * Every index entry the change moves (status, dead letters, ended by time) moves in the same batch.
   */
  update(req: DbParsedContent['updateCall']): Promise<Call> {
    return this.store.lock.run(req.id, async () => {
      const current = await this.get({ id: req.id });
      const next = updatedCall(current, req, Date.now());
      // First: it stamps (or clears) the call's finish sequence, which the record and its indexes carry.
      const groupOps = this.groups.followCall(current, next);
      const ops: BatchOp[] = [{ type: 'put', key: keys.call(next.id), value: next }, ...indexOps(current, next), ...groupOps];
      if (next.status !== current.status) this.store.countStatus(current.status, next.status);
      ops.push(...this.stats.follow(current, next));
      await this.store.write(ops);
      this.remember(next);
      return next;
    });
  }

  /**
   * A call as of every write that reached the DB before this read (the api answers a sync call
   * while its final write is on its way here, and a read that follows must see that write).
   */
  read(ref: CallRef): Promise<Call> {
    return this.get(ref, { afterWrites: true });
  }

  async get(ref: CallRef, options: { afterWrites?: boolean } = {}): Promise<Call> {
    const id = 'id' in ref ? ref.id : await this.store.get<string>(keys.byNum(ref.callNum));
    if (id !== undefined && options.afterWrites) await this.store.lock.idle(id);
    const call = id === undefined ? undefined : await this.load(id);
    if (!call) throw new NotFoundError('id' in ref ? `call "${ref.id}"` : `call number ${ref.callNum}`);
    return call;
  }

  /** A page of calls, newest first (see {@link listCalls}); writes that arrived before the list are in it (see read()). */
  async list(query: DbParsedContent['listCalls']): Promise<CallPage> {
    await this.store.lock.idle();
    return listCalls(this.store, query, this.scanBounds, nodeIndexReady(this.store));
  }

  /**
   * Up to `limit` calls that ended failed ({@link FAILED_STATUSES}), latest end first, by the `ie!`
   * index; it looks at no more than the scan bound of ended calls, so a store of many successes
   * answers fewer.
   */
  async recentFailures(limit: number): Promise<Call[]> {
    if (limit === 0) return [];
    const ended = this.store.db.iterator({ gte: keys.byEndPrefix, lt: keys.byEndPrefix + END, reverse: true, limit: this.scanBounds.entries });
    const out: Call[] = [];
    try {
      while (out.length < limit) {
        const entries = await ended.nextv(RECENT_SLICE);
        if (entries.length === 0) break;
        const calls = await this.store.db.getMany(entries.map(([, id]) => keys.call(String(id))));
        for (const value of calls) {
          const call = value as Call | undefined;
          if (call && FAILED_STATUSES.has(call.status) && out.length < limit) out.push(withDefaults(call));
        }
      }
    } finally {
      await ended.close();
    }
    return out;
  }

  /**
   * Removes the ended calls behind `entries` (their `ie!` index entries) that ended before
   * `cutoff`: each record (executions and logs are inside it), every index entry that points at
   * it, and its idempotency key record if that still points at it — all in one batch, under the
   * locks of every call and key involved. A stale entry (its call gone or no longer ended then)
   * is dropped alone. Returns how many calls and key records went.
   */
  async removeEnded(entries: { endKey: string; id: string }[], cutoff: number): Promise<{ calls: number; keys: number }> {
    // A call's idempotency key never changes, so it can be learnt before taking the locks.
    const keyLocks: string[] = [];
    for (const { id } of entries) {
      const call = await this.load(id);
      if (call?.idempotencyKey) keyLocks.push(idempotencyLockKey(call.funcName, call.idempotencyKey));
    }
    return this.store.lock.runMany([...entries.map((e) => e.id), ...keyLocks], async () => {
      const ops: BatchOp[] = [];
      let calls = 0;
      let keysRemoved = 0;
      for (const { endKey, id } of entries) {
        const call = await this.load(id);
        const pointsHere = call !== undefined && indexKeys(call).includes(endKey);
        if (!call || !pointsHere) {
          ops.push({ type: 'del', key: endKey });
          continue;
        }
        if (endedAt(call) >= cutoff) continue;
        ops.push({ type: 'del', key: keys.call(id) }, ...indexKeys(call).map((key) => ({ type: 'del' as const, key })));
        if (call.idempotencyKey) {
          const rec = await readKey(this.store, call.funcName, call.idempotencyKey);
          if (rec?.callId === id) {
            ops.push(...dropOps(rec));
            keysRemoved += 1;
          }
        }
        this.store.countStatus(call.status, null);
        // Out of the cache before the write: a read meanwhile finds the record still in LevelDB.
        this.cache.delete(id);
        calls += 1;
      }
      if (ops.length > 0) await this.store.write(ops);
      return { calls, keys: keysRemoved };
    });
  }

  /**
   * Writes the index entries of the calls `ids` as their records stand, those under `prefix` only
   * when given (repairs indexes added later).
   */
  reindex(ids: string[], prefix = ''): Promise<void> {
    return this.store.lock.runMany(ids, async () => {
      const ops: BatchOp[] = [];
      for (const id of ids) {
        const call = await this.load(id);
        if (call) ops.push(...indexOps(null, call).filter((op) => op.key.startsWith(prefix)));
      }
      if (ops.length > 0) await this.store.write(ops);
    });
  }

  /** The call with the lowest callNum the store keeps, or null when it keeps none. */
  async oldest(): Promise<{ callNum: number; createdAt: number } | null> {
    const [first] = await this.store.keysUnder(keys.byNumPrefix, { limit: 1 });
    const id = first === undefined ? undefined : await this.store.get<string>(first);
    const call = id === undefined ? undefined : await this.load(id);
    return call ? { callNum: call.callNum, createdAt: call.createdAt } : null;
  }
}
