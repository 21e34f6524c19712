import type { DbClient } from '../../../shared/clients/db-client.js';
import { ConflictError, ErrorCode, FerryError } from '../../../shared/errors.js';
import type { Logger } from '../../../shared/logger.js';
import { newCallId } from '../../../shared/protocol/call-id.js';
import type { GroupResultPageReply } from '../../../shared/protocol/db-messages.js';
import type { Call } from '../../../shared/protocol/domain.js';
import { newGroupId, type Group } from '../../../shared/protocol/group.js';
import type { Scheduler } from '../scheduler.js';
import { sessionTotal, sessionView, type SessionView } from './session-view.js';
import { parseFunctionRef } from '../../../shared/protocol/function-ref.js';
import { createdBy, groupOfKind, madeBy, type Asker } from './group-lookup.js';

/** The most calls one append adds. */
export const MAX_APPEND = 10_000;
/** Calls created or dispatched at once: a big session leaves the api free for other requests between batches. */
const BATCH = 100;
/** Cancels sent at once while a session is killed. */
const CANCEL_BATCH = 50;
const PAGE = 1000;
/** Passes over a killed session's unfinished calls (the second finds only calls retried meanwhile). */
const MAX_KILL_PASSES = 3;
const FINAL: readonly string[] = ['DONE', 'ERROR', 'TIMEOUT', 'KILLED', 'CANCELLED'];

/**
 * A session's group record says `function: '*'`: unlike a run, its calls may be of any function,
 * each named on the call itself.
 */
export const ANY_FUNCTION = '*';

export interface SessionAppend {
  /** `name` (its latest version) or `name@version`. */
  function: string;
  params?: unknown;
}

/**
 * Sessions (FOQUS): calls appended HELD, started together, killed together, their results read
 * page by page. A session is a group of kind `session`; its calls are ordinary calls moved on by
 * the call lifecycle alone, and the DB keeps the session's counts, its start mark and the order
 * its calls ended in, so a session's state is read, never computed from its calls.
 */
export class Sessions {
  constructor(private readonly deps: { db: DbClient; scheduler: Scheduler; log: Logger }) {}

  /** Appends, starts and kills of one session, one at a time in this process (a kill never misses calls an append is making). */
  private readonly turns = new Map<string, Promise<unknown>>();
  /** Sessions being killed: a start on its way dispatches no further batch. */
  private readonly killing = new Set<string>();

  private inTurn<T>(id: string, work: () => Promise<T>): Promise<T> {
    const before = this.turns.get(id) ?? Promise.resolve();
    const mine = before.catch(() => undefined).then(work);
    const settled = mine.catch(() => undefined);
    this.turns.set(id, settled);
    void settled.then(() => {
      if (this.turns.get(id) === settled) this.turns.delete(id);
    });
    return mine;
  }

  /** A new open session; `asker`: the API key asking, which every call appended to it records, and the request's id. */
  async create(asker: Asker = {}): Promise<Group> {
    const { db } = this.deps;
    // Listed as being made until its start has dispatched every call it holds (or it is killed):
    // an api that dies part way through a start finishes it at its next start ({@link resume}).
    const group = await db.call('createGroup', { id: newGroupId(), kind: 'session', function: ANY_FUNCTION, total: 0, ...createdBy(asker) });
    this.deps.log.info({ module: 'sessions', sessionId: group.id }, 'session created');
    return group;
  }

  /**
   * Appends calls, HELD while the session is open, PENDING (queued at once) once it is started;
   * answers their ids in order. CONFLICT when it is killed; NOT_FOUND for an unknown session or
   * function (checked for every call before any is made); QUEUE_FULL when started and the queue
   * has no room for all of them. The calls carry `requestId`, the id of the append's request.
   */
  append(id: string, items: SessionAppend[], requestId?: string): Promise<string[]> {
    return this.inTurn(id, async () => {
      const { db, scheduler } = this.deps;
      const group = await this.get(id);
      if (group.cancelledAt !== null) throw new ConflictError(`session "${id}" was killed: it takes no more calls`);
      const started = group.startedAt != null;
      const pinned = new Map<string, string>();
      for (const item of items) {
        if (pinned.has(item.function)) continue;
        const fn = await db.call('getFunction', parseFunctionRef(item.function));
        pinned.set(item.function, `${fn.name}@${fn.version}`);
      }
      if (started) scheduler.checkRoom(items.length);
      const first = sessionTotal(group) + 1;
      const ids = items.map(() => newCallId());
      for (let i = 0; i < items.length; i += BATCH) {
        await Promise.all(
          items.slice(i, i + BATCH).map((item, j) =>
            scheduler.invoke(pinned.get(item.function)!, item.params ?? null, {
              sessionId: id,
              hold: !started,
              group: { id, index: first + i + j, callId: ids[i + j]! },
              ...madeBy(group),
              ...(requestId ? { requestId } : {}),
            }),
          ),
        );
      }
      this.deps.log.info({ module: 'sessions', sessionId: id, calls: items.length, held: !started }, 'calls appended');
      return ids;
    });
  }

  /**
   * Starts the session: marks it started, then dispatches every call it holds, a batch at a time.
   * Starting a started session dispatches what it still holds (a start cut short). CONFLICT when killed.
   */
  start(id: string): Promise<SessionView> {
    return this.inTurn(id, async () => {
      const { db } = this.deps;
      const group = await this.get(id);
      if (group.cancelledAt !== null) throw new ConflictError(`session "${id}" was killed: it cannot start`);
      // Marked first: an append from here on runs its calls at once, and none is left held.
      await db.call('startGroup', { id });
      await this.dispatchHeldCalls(id);
      return this.view(id);
    });
  }

  /**
   * Dispatches what the sessions a dead api was starting still hold (the DB lists a session as
   * being made from its creation until its start is done), so a start answered or not ends with
   * every call dispatched. Call once at start, after the scheduler has taken back the calls it finds.
   */
  async resume(): Promise<void> {
    const { db, log } = this.deps;
    for (const group of await db.call('listGroupsBeingMade', {})) {
      if (group.kind !== 'session' || group.startedAt == null) continue;
      try {
        if (group.cancelledAt !== null) await db.call('groupMade', { id: group.id });
        else await this.inTurn(group.id, () => this.dispatchHeldCalls(group.id));
      } catch (err) {
        log.error({ module: 'sessions', err, sessionId: group.id }, 'could not finish starting a session');
      }
    }
  }

  /** Every HELD call of a started session to PENDING, oldest first, a batch at a time; then the session is made. */
  private async dispatchHeldCalls(id: string): Promise<void> {
    const held = await this.calls(id, 'HELD');
    held.sort((a, b) => a.callNum - b.callNum);
    for (let i = 0; i < held.length; i += BATCH) {
      // A kill on its way: it stops the rest (and marks the session made).
      if (this.killing.has(id)) return;
      await Promise.all(held.slice(i, i + BATCH).map((call) => this.deps.scheduler.dispatchHeld(call.id).catch(notIfMovedOn)));
    }
    await this.deps.db.call('groupMade', { id });
    this.deps.log.info({ module: 'sessions', sessionId: id, dispatched: held.length }, 'session started');
  }

  /**
   * Kills the session: marked killed at once (no call of it starts any more, appends are
   * refused), then every unfinished call is stopped through the call lifecycle: held and pending
   * ones end CANCELLED, running ones KILLED with their nodes told to stop them.
   */
  async kill(id: string): Promise<SessionView> {
    await this.get(id);
    this.killing.add(id);
    try {
      await this.deps.db.call('cancelGroup', { id });
      // After any append or start on its way: their calls are stopped too.
      await this.inTurn(id, () => this.cancelUnfinished(id));
      await this.deps.db.call('groupMade', { id });
    } finally {
      this.killing.delete(id);
    }
    return this.view(id);
  }

  private async cancelUnfinished(id: string): Promise<void> {
    let stopped = 0;
    // Looked at again after each pass: a running call whose function failed meanwhile may have
    // gone back to PENDING under its retry policy after the list was read.
    for (let pass = 0; pass < MAX_KILL_PASSES; pass += 1) {
      const open = (await this.calls(id)).filter((c) => !FINAL.includes(c.status));
      if (open.length === 0) break;
      // Waiting ones first, so none of them starts in a slot a stopped running one frees.
      open.sort((a, b) => Number(a.status === 'RUNNING') - Number(b.status === 'RUNNING'));
      for (let i = 0; i < open.length; i += CANCEL_BATCH) {
        await Promise.all(open.slice(i, i + CANCEL_BATCH).map((call) => this.deps.scheduler.calls.cancel(call.id).catch(notIfMovedOn)));
      }
      stopped += open.length;
    }
    this.deps.log.info({ module: 'sessions', sessionId: id, stopped }, 'session killed');
  }

  /** NOT_FOUND unless `id` is a session. */
  async get(id: string): Promise<Group> {
    return groupOfKind(this.deps.db, id, 'session');
  }

  async view(id: string): Promise<SessionView> {
    return sessionView(await this.get(id));
  }

  async list(limit: number, cursor: string | undefined): Promise<{ sessions: SessionView[]; nextCursor: string | null }> {
    const page = await this.deps.db.call('listGroups', { kind: 'session', limit, ...(cursor ? { cursor } : {}) });
    return { sessions: page.groups.map(sessionView), nextCursor: page.nextCursor };
  }

  /** The next result page: the calls ended since the last page, in the order they ended (`page` null: none since). */
  async nextResults(id: string): Promise<GroupResultPageReply | null> {
    await this.get(id);
    return this.deps.db.call('nextGroupPage', { id });
  }

  /** Result page `page`, as it was made. */
  async results(id: string, page: number): Promise<GroupResultPageReply> {
    await this.get(id);
    return this.deps.db.call('getGroupPage', { id, page });
  }

  /** Every call of the session (one page of the `ig!` index at a time), of `status` when given. */
  private async calls(id: string, status?: 'HELD'): Promise<Call[]> {
    const all: Call[] = [];
    let cursor: string | null = null;
    do {
      const page: { calls: Call[]; nextCursor: string | null } = await this.deps.db.call('listCalls', {
        groupId: id,
        limit: PAGE,
        ...(status ? { status } : {}),
        ...(cursor ? { cursor } : {}),
      });
      all.push(...page.calls);
      cursor = page.nextCursor;
    } while (cursor);
    return all;
  }
}

/** A call that moved on by itself meanwhile (ended, or dispatched already) needs nothing more. */
function notIfMovedOn(err: unknown): void {
  if (!(err instanceof FerryError && err.code === ErrorCode.CONFLICT)) throw err;
}

