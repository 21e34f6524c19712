import { ConflictError, NotFoundError } from '../../shared/errors.js';
import type { CallPage, DbParsedContent } from '../../shared/protocol/db-messages.js';
import { CallStatus, type Call } from '../../shared/protocol/domain.js';
import { applyExecutionPatch } from '../../shared/protocol/execution.js';
import { keys, padCallNum } from './keys.js';
import type { Store } from './store.js';
import type { BatchOp } from './write-queue.js';

type CallRef = { id: string } | { callNum: number };

/**
 * The call store. A call record and all of its index entries change in one atomic batch, and
 * updates are compare-and-set so a stale writer (an old attempt, a lost worker) loses.
 */
export class Calls {
  /** Recent calls by id, written through: updates of a live call never read LevelDB. */
  private readonly cache = new Map<string, Call>();

  constructor(
    private readonly store: Store,
    private readonly cacheEntries = 100_000,
  ) {}

  private remember(call: Call): void {
    this.cache.delete(call.id);
    this.cache.set(call.id, call);
    if (this.cache.size > this.cacheEntries) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
  }

  private async load(id: string): Promise<Call | undefined> {
    return this.cache.get(id) ?? (await this.store.get<Call>(keys.call(id)));
  }

  /** Creates a PENDING call with the next callNum. Creating an id that exists answers that call. */
  create(spec: DbParsedContent['createCall']): Promise<Call> {
    const id = spec.id;
    return this.store.lock.run(id, async () => {
      const existing = await this.load(id);
      if (existing) return existing;
      const call: Call = {
        id,
        callNum: this.store.nextCallNum(),
        funcName: spec.funcName,
        version: spec.version,
        params: spec.params ?? null,
        status: CallStatus.PENDING,
        result: '',
        error: null,
        logs: null,
        attempt: 1,
        workerId: null,
        sessionId: spec.sessionId ?? null,
        progress: null,
        metrics: null,
        createdAt: Date.now(),
        startedAt: null,
        finishedAt: null,
        executions: [],
      };
      this.store.countStatus(null, call.status);
      const ops: BatchOp[] = [
        { type: 'put', key: keys.call(id), value: call },
        { type: 'put', key: keys.byNum(call.callNum), value: id },
        { type: 'put', key: keys.byFn(call.funcName, call.callNum), value: id },
        { type: 'put', key: keys.byStatus(call.status, call.callNum), value: id },
      ];
      if (call.sessionId !== null) ops.push({ type: 'put', key: keys.bySession(call.sessionId, call.callNum), value: id });
      await this.store.write(ops);
      this.remember(call);
      return call;
    });
  }

  /** Applies `set` if the call still matches `expect`; throws CONFLICT (not retryable) otherwise. */
  update(req: DbParsedContent['updateCall']): Promise<Call> {
    return this.store.lock.run(req.id, async () => {
      const current = await this.get({ id: req.id });
      const { status: wantStatus, attempt: wantAttempt } = req.expect;
      const statusOk =
        wantStatus === undefined ||
        (Array.isArray(wantStatus) ? wantStatus.includes(current.status) : wantStatus === current.status);
      if (!statusOk || (wantAttempt !== undefined && wantAttempt !== current.attempt)) {
        throw new ConflictError(
          `call ${current.id} is ${current.status} at attempt ${current.attempt}; ` +
            `expected ${JSON.stringify(wantStatus ?? 'any status')} at attempt ${wantAttempt ?? 'any'}`,
        );
      }
      const next: Call = { ...current, ...req.set };
      if (req.execution) next.executions = applyExecutionPatch(next.id, current.executions ?? [], req.execution, Date.now());
      const ops: BatchOp[] = [{ type: 'put', key: keys.call(next.id), value: next }];
      if (next.status !== current.status) {
        ops.push(
          { type: 'del', key: keys.byStatus(current.status, current.callNum) },
          { type: 'put', key: keys.byStatus(next.status, next.callNum), value: next.id },
        );
        this.store.countStatus(current.status, next.status);
      }
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

  /**
   * Newest first, `limit` at a time. The cursor is a callNum: the next page holds calls numbered
   * below it, so calls created while a client pages never shift or repeat what it sees.
   */
  async list(query: DbParsedContent['listCalls']): Promise<CallPage> {
    // Writes that arrived before this list are in it (see read()).
    await this.store.lock.idle();
    const prefix =
      query.sessionId !== undefined
        ? keys.bySessionPrefix(query.sessionId)
        : query.funcName !== undefined
          ? keys.byFnPrefix(query.funcName)
          : query.status !== undefined
            ? keys.byStatusPrefix(query.status)
            : keys.byNumPrefix;
    const matches = (c: Call): boolean =>
      (query.funcName === undefined || c.funcName === query.funcName) &&
      (query.status === undefined || c.status === query.status) &&
      (query.sessionId === undefined || c.sessionId === query.sessionId);

    const found: Call[] = [];
    let upper = query.cursor === undefined ? undefined : prefix + padCallNum(Number(query.cursor));
    // Read index entries in slices; filters on other fields may skip some, so keep reading.
    while (found.length <= query.limit) {
      const slice = await this.store.keysUnder(prefix, { reverse: true, limit: query.limit + 1, lt: upper });
      if (slice.length === 0) break;
      const ids = await this.store.db.getMany(slice);
      const calls = await this.store.db.getMany(ids.map((id) => keys.call(String(id))));
      for (const value of calls) {
        const call = value as Call | undefined;
        if (call && matches(call)) found.push(call);
        if (found.length > query.limit) break;
      }
      upper = slice[slice.length - 1];
      if (slice.length < query.limit + 1 || upper === undefined) break;
    }
    const page = found.slice(0, query.limit);
    const more = found.length > query.limit;
    const last = page[page.length - 1];
    return { calls: page, nextCursor: more && last ? String(last.callNum) : null };
  }
}
