import type { DbClient } from '../../../shared/clients/db-client.js';
import { ErrorCode, FerryError, NotFoundError } from '../../../shared/errors.js';
import type { Logger } from '../../../shared/logger.js';
import type { Call } from '../../../shared/protocol/domain.js';
import { newGroupId, type Group } from '../../../shared/protocol/group.js';
import type { Scheduler } from '../scheduler.js';
import { runDetail, runView, type RunDetail, type RunView } from './run-view.js';
import { parseFunctionRef } from '../../../shared/protocol/function-ref.js';
import { createdBy, groupOfKind, madeBy, type Asker } from './group-lookup.js';

/** The most calls one run makes. */
export const MAX_RUN_TIMES = 10_000;
/** Calls made at once while a run is made: a run of 10,000 leaves the api free for other requests between batches. */
const MAKE_BATCH = 100;
/** Cancels sent at once while a run is cancelled. */
const CANCEL_BATCH = 50;
const PAGE = 1000;

const FINAL: readonly string[] = ['DONE', 'ERROR', 'TIMEOUT', 'KILLED', 'CANCELLED'];

/**
 * A run's call at place `index`: the run's id and the place, so a detail is found by its id
 * alone (no scan) and the id says which run it belongs to.
 */
export const runCallId = (runId: string, index: number): string => `${runId}d${String(index).padStart(5, '0')}`;

/**
 * Runs of N (Stevedore): one function called `times` times as one group. Its calls are ordinary
 * calls moved on by the call lifecycle alone; the DB keeps the run's counts with each of their
 * status changes, so a run's state is read, never computed from its calls, and survives restarts.
 */
export class Runs {
  constructor(private readonly deps: { db: DbClient; scheduler: Scheduler; log: Logger }) {}

  /** Runs this process is making calls of. */
  private readonly making = new Set<string>();
  /** Runs being made here that were cancelled: their making stops at the next batch. */
  private readonly cancelled = new Set<string>();

  /**
   * Makes the run and all of its calls, in batches; resolves once every call is stored (so a run
   * answered is a run that survives a restart). NOT_FOUND for an unknown function, QUEUE_FULL
   * when the queue has no room for all of them. If making a call fails, the calls made are
   * cancelled, the run is marked cancelled, and the error thrown. `asker`: the API key asking and
   * the request's id, which its calls record.
   */
  async start(ref: string, times: number, params: unknown, asker: Asker = {}): Promise<Group> {
    const { db, scheduler } = this.deps;
    scheduler.checkRoom(times);
    const fn = await db.call('getFunction', parseFunctionRef(ref));
    const pinned = `${fn.name}@${fn.version}`;
    const group = await db.call('createGroup', { id: newGroupId(), kind: 'run', function: pinned, spec: { params: params ?? null }, total: times, ...createdBy(asker) });
    await this.make(group, range(1, times), params ?? null);
    this.deps.log.info({ module: 'runs', runId: group.id, function: pinned, times }, 'run made');
    return db.call('getGroup', { id: group.id });
  }

  /**
   * Makes the calls an api that died while making a run left unmade (the DB lists the runs whose
   * making was never marked done), so a run answered or not finishes with all of its calls.
   * Call once at start, after the scheduler has taken back the calls it finds.
   */
  async resume(): Promise<void> {
    const { db, log } = this.deps;
    for (const group of await db.call('listGroupsBeingMade', {})) {
      if (group.kind !== 'run') continue;
      try {
        if (group.cancelledAt !== null) {
          await db.call('groupMade', { id: group.id });
          continue;
        }
        const have = new Set((await this.calls(group.id)).map((c) => c.groupIndex));
        const missing = range(1, group.total).filter((i) => !have.has(i));
        log.info({ module: 'runs', runId: group.id, missing: missing.length }, 'making the rest of a run');
        this.deps.scheduler.checkRoom(missing.length);
        await this.make(group, missing, (group.spec as { params?: unknown } | null)?.params ?? null);
      } catch (err) {
        log.error({ module: 'runs', err, runId: group.id }, 'could not make the rest of a run');
      }
    }
  }

  /** Makes the calls at `indexes`, a batch at a time, then marks the run made. */
  private async make(group: Group, indexes: number[], params: unknown): Promise<void> {
    const { db, scheduler } = this.deps;
    this.making.add(group.id);
    try {
      for (let i = 0; i < indexes.length && !this.cancelled.has(group.id); i += MAKE_BATCH) {
        await Promise.all(
          indexes
            .slice(i, i + MAKE_BATCH)
            .map((index) => scheduler.invoke(group.function, params, { group: { id: group.id, index, callId: runCallId(group.id, index) }, ...madeBy(group) })),
        );
      }
    } catch (err) {
      this.deps.log.error({ module: 'runs', err, runId: group.id }, 'a run could not make all of its calls: cancelling it');
      await this.cancel(group.id).catch((e: unknown) => this.deps.log.error({ module: 'runs', err: e, runId: group.id }, 'could not cancel a run made in part'));
      await db.call('groupMade', { id: group.id }).catch(() => undefined);
      throw err;
    } finally {
      this.making.delete(group.id);
    }
    // Cancelled while a batch was on its way: that batch's calls are cancelled too.
    if (this.cancelled.delete(group.id)) await this.cancelUnfinished(group.id);
    await db.call('groupMade', { id: group.id });
  }

  /** NOT_FOUND unless `id` is a run. */
  async get(id: string): Promise<Group> {
    return groupOfKind(this.deps.db, id, 'run');
  }

  async view(id: string): Promise<RunView> {
    return runView(await this.get(id));
  }

  async list(limit: number, cursor: string | undefined): Promise<{ runs: RunView[]; nextCursor: string | null }> {
    const page = await this.deps.db.call('listGroups', { kind: 'run', limit, ...(cursor ? { cursor } : {}) });
    return { runs: page.groups.map(runView), nextCursor: page.nextCursor };
  }

  /** A page of the run's calls, newest first like /v1/calls (the cursor is a callNum). */
  async details(id: string, limit: number, cursor: string | undefined): Promise<{ details: RunDetail[]; nextCursor: string | null }> {
    await this.get(id);
    const page = await this.deps.db.call('listCalls', { groupId: id, limit, ...(cursor ? { cursor } : {}) });
    return { details: page.calls.map(runDetail), nextCursor: page.nextCursor };
  }

  async detail(id: string, detailId: number): Promise<RunDetail> {
    const run = await this.get(id);
    if (!Number.isInteger(detailId) || detailId < 1 || detailId > run.total) throw new NotFoundError(`detail ${detailId} of run "${id}"`);
    const call = await this.deps.db.call('getCall', { id: runCallId(id, detailId) });
    return runDetail(call);
  }

  /**
   * Cancels every unfinished call of the run through the call lifecycle (held or pending:
   * CANCELLED; running: KILLED, its node told to stop it) and marks the run cancelled. A run
   * whose calls have all ended is answered as it is.
   */
  async cancel(id: string): Promise<RunView> {
    await this.get(id);
    // Calls still being made here are made no more (a run being made has some unfinished).
    if (this.making.has(id)) this.cancelled.add(id);
    await this.cancelUnfinished(id);
    return this.view(id);
  }

  private async cancelUnfinished(id: string): Promise<void> {
    const { db, scheduler } = this.deps;
    const open = (await this.calls(id)).filter((c) => !FINAL.includes(c.status));
    if (open.length === 0) return;
    // Marked first: the run reads CANCELLED or KILLED, not ERROR, the moment its last call ends.
    await db.call('cancelGroup', { id });
    // Waiting ones first, so fewer of them start while the running ones are stopped.
    open.sort((a, b) => Number(a.status === 'RUNNING') - Number(b.status === 'RUNNING'));
    for (let i = 0; i < open.length; i += CANCEL_BATCH) {
      await Promise.all(
        open.slice(i, i + CANCEL_BATCH).map((call) =>
          scheduler.calls.cancel(call.id).catch((err: unknown) => {
            // It ended on its own meanwhile: nothing to stop.
            if (!(err instanceof FerryError && err.code === ErrorCode.CONFLICT)) throw err;
          }),
        ),
      );
    }
    this.deps.log.info({ module: 'runs', runId: id, cancelled: open.length }, 'run cancelled');
  }

  /** Every call of the run (one page of the `ig!` index at a time). */
  private async calls(id: string): Promise<Call[]> {
    const open: Call[] = [];
    let cursor: string | null = null;
    do {
      const page: { calls: Call[]; nextCursor: string | null } = await this.deps.db.call('listCalls', { groupId: id, limit: PAGE, ...(cursor ? { cursor } : {}) });
      open.push(...page.calls);
      cursor = page.nextCursor;
    } while (cursor);
    return open;
  }
}

/** from, from + 1, …, to. */
const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);


