import type { DbClient } from '../../../shared/clients/db-client.js';
import { ErrorCode, FerryError } from '../../../shared/errors.js';
import type { Logger } from '../../../shared/logger.js';
import type { Call } from '../../../shared/protocol/domain.js';
import { newGroupId, type Group } from '../../../shared/protocol/group.js';
import type { CallEvent } from '../calls/call-events.js';
import type { Scheduler } from '../scheduler.js';
import { BatchState, type BatchRequest, type BatchResult, type BatchView } from '../../../shared/protocol/batch-view.js';
import {
  ENDED,
  MAX_COMBINER_PARAMS_BYTES,
  batchCallId,
  batchRange,
  batchResult,
  combinerCallId,
  parseResult,
  sumCounts,
  toleratedCount,
  type BatchSpec,
} from './batch-view.js';
import { parseFunctionRef } from '../../../shared/protocol/function-ref.js';
import { createdBy, groupOfKind, madeBy, type Asker } from './group-lookup.js';

/** The most batches one job is cut into. */
export const MAX_BATCHES = 100_000;
const PAGE = 1000;
/** An end is told as its write goes out: a step that sees it before the store does looks again this soon. */
const SETTLE_MS = 50;
/** A batch call that could not be made (the queue was full) is tried again this soon. */
const RETRY_MS = 1000;

/** A batch job this api is driving: only its unfinished calls are held, never one per batch. */
interface Driving {
  /** Ids of its worker calls not ended (at most maxParallelism). */
  open: Set<string>;
  /** Ends heard while `open` was being loaded at start. */
  endedWhileLoading: Set<string> | null;
  /** Steps run one after another, so two never make the same batch. */
  chain: Promise<void>;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Batch jobs (burst-compute): an index range cut into batches, one worker call each, at most
 * `maxParallelism` unfinished at once, then one combiner call with every partial result. Driven by
 * the call lifecycle's events: a worker call's end makes the next batch's call. The next batch to
 * make is the group's count of calls (they are made one at a time, in order, each under its own
 * id), so an api that restarts carries on from the store and never makes a batch twice.
 */
export class Batches {
  private readonly driving = new Map<string, Driving>();
  /** Jobs refused a combiner for their results' size, until the next start works it out again. */
  private readonly refused = new Map<string, string>();
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly deps: { db: DbClient; scheduler: Scheduler; log: Logger }) {}

  /** Listens from the first job started or resumed on (an app built for its routes alone never does). */
  private listen(): void {
    this.unsubscribe ??= this.deps.scheduler.calls.events.subscribeAll((event) => this.onCallEvent(event));
  }

  close(): void {
    this.unsubscribe?.();
    for (const d of this.driving.values()) clearTimeout(d.timer);
  }

  /** Validates both functions (NOT_FOUND), stores the job, and makes its first calls; they record `asker` (the API key asking, the request's id). */
  async start(req: BatchRequest, asker: Asker = {}): Promise<Group> {
    const { db } = this.deps;
    this.listen();
    const numBatches = Math.ceil((req.endIndex - req.startIndex) / req.batchSize);
    if (numBatches < 1 || numBatches > MAX_BATCHES) throw new FerryError(ErrorCode.BAD_REQUEST, `the range makes ${numBatches} batches: it must make 1 to ${MAX_BATCHES}`);
    const worker = await db.call('getFunction', parseFunctionRef(req.worker));
    const combiner = await db.call('getFunction', parseFunctionRef(req.combiner));
    const spec: BatchSpec = {
      combiner: `${combiner.name}@${combiner.version}`,
      startIndex: req.startIndex,
      endIndex: req.endIndex,
      batchSize: req.batchSize,
      maxParallelism: req.maxParallelism,
      timeoutSecs: req.timeoutSecs,
      resultTtlSecs: req.resultTtlSecs ?? 3600,
      toleratedFailures: req.toleratedFailures ?? 0,
      params: req.params ?? null,
    };
    // Listed as being made until its combiner is made: an api that dies meanwhile picks it up.
    const group = await db.call('createGroup', { id: newGroupId(), kind: 'batch', function: `${worker.name}@${worker.version}`, spec, total: numBatches, ...createdBy(asker) });
    this.drive(group, new Set());
    this.deps.log.info({ module: 'batches', batchId: group.id, numBatches }, 'batch job started');
    return group;
  }

  /** Picks up every batch job an api left unfinished. Call once at start, after the scheduler's recovery. */
  async resume(): Promise<void> {
    const { db, log } = this.deps;
    this.listen();
    for (const group of await db.call('listGroupsBeingMade', {})) {
      if (group.kind !== 'batch' || this.driving.has(group.id)) continue;
      try {
        const d = this.drive(group, null);
        const open = await this.unfinished(group.id);
        for (const id of open) if (!d.endedWhileLoading?.has(id)) d.open.add(id);
        d.endedWhileLoading = null;
        log.info({ module: 'batches', batchId: group.id, open: d.open.size }, 'batch job resumed');
        this.step(group.id);
      } catch (err) {
        log.error({ module: 'batches', err, batchId: group.id }, 'could not resume a batch job');
      }
    }
  }

  /** Starts driving `group`; with `open` null its open calls are being loaded. */
  private drive(group: Group, open: Set<string> | null): Driving {
    const spec = group.spec as BatchSpec;
    const d: Driving = { open: open ?? new Set(), endedWhileLoading: open ? null : new Set(), chain: Promise.resolve(), timer: undefined };
    this.driving.set(group.id, d);
    // At the deadline unfinished calls are cancelled (their ends then step it to the combiner).
    const left = group.createdAt + spec.timeoutSecs * 1000 - Date.now();
    d.timer = setTimeout(() => this.step(group.id), Math.max(0, left));
    if (open) this.step(group.id);
    return d;
  }

  private onCallEvent(event: CallEvent): void {
    if (event.type !== 'status' || !ENDED.includes(event.call.status)) return;
    const groupId = event.call.groupId;
    const d = groupId ? this.driving.get(groupId) : undefined;
    if (!d || !groupId) return;
    d.open.delete(event.call.id);
    d.endedWhileLoading?.add(event.call.id);
    if (!d.endedWhileLoading) this.step(groupId);
  }

  private step(id: string, delayMs = 0): void {
    const d = this.driving.get(id);
    if (!d) return;
    const run = (): void => {
      d.chain = d.chain
        .then(() => this.stepNow(id, d))
        .catch((err: unknown) => {
          this.deps.log.error({ module: 'batches', err, batchId: id }, 'a batch job step failed: trying again');
          this.step(id, RETRY_MS);
        });
    };
    if (delayMs > 0) setTimeout(run, delayMs).unref();
    else run();
  }

  /** Makes the next calls up to the cap; calls the combiner once every batch has ended. */
  private async stepNow(id: string, d: Driving): Promise<void> {
    const { db, scheduler } = this.deps;
    // Stopped, or its open calls still being loaded at start (the load steps it after).
    if (this.driving.get(id) !== d || d.endedWhileLoading !== null) return;
    const group = await db.call('getGroup', { id });
    const spec = group.spec as BatchSpec;
    if (group.cancelledAt !== null) {
      // Cancelled by an api that died before it was done cancelling: this one finishes the work.
      await this.cancelOpen(id, d);
      await db.call('groupMade', { id });
      return this.stop(id);
    }
    const timedOut = Date.now() >= group.createdAt + spec.timeoutSecs * 1000;
    let made = sumCounts(group.counts);
    if (timedOut && d.open.size > 0) return this.cancelOpen(id, d);
    while (!timedOut && made < group.total && d.open.size < spec.maxParallelism && this.driving.get(id) === d) {
      const callId = batchCallId(id, made);
      // Open before the create: its end may be told before the create answers.
      d.open.add(callId);
      try {
        await scheduler.invoke(group.function, this.workerParams(group, made), { group: { id, index: made + 1, callId }, ...madeBy(group) });
      } catch (err) {
        d.open.delete(callId);
        throw err;
      }
      made += 1;
    }
    if (d.open.size > 0 || (made < group.total && !timedOut)) return;
    // Every call made has ended here; the store may still be writing the last end.
    const stored = await db.call('getGroup', { id });
    if (sumCounts(stored.counts, ENDED) < sumCounts(stored.counts)) return this.step(id, SETTLE_MS);
    await this.combine(stored);
  }

  private workerParams(group: Group, b: number): unknown {
    const spec = group.spec as BatchSpec;
    return { jobId: group.id, batchId: b, ...batchRange(spec, b), jobParameters: spec.params };
  }

  private async cancelOpen(id: string, d: Driving): Promise<void> {
    for (const callId of [...d.open]) {
      await this.deps.scheduler.calls.cancel(callId).catch((err: unknown) => {
        // It ended on its own meanwhile: its end event steps the job on.
        if (!(err instanceof FerryError && (err.code === ErrorCode.CONFLICT || err.code === ErrorCode.NOT_FOUND))) throw err;
      });
    }
  }

  /** Calls the combiner once (its id is fixed per job), unless too many batches failed or the results are too big. */
  private async combine(group: Group): Promise<void> {
    const { db, scheduler, log } = this.deps;
    const spec = group.spec as BatchSpec;
    const id = group.id;
    if (!(await this.combinerCall(id))) {
      if (this.failuresPastTolerance(group)) {
        log.warn({ module: 'batches', batchId: id, counts: group.counts }, 'too many batches failed: no combiner');
      } else {
        // Mapped a page at a time: the whole calls are never all held at once, only their results.
        const results: BatchResult[] = [];
        await this.eachPage(id, (calls) => results.push(...calls.map((c) => batchResult(spec, c, Date.now()))));
        results.sort((a, b) => a.batchId - b.batchId);
        const params = {
          jobId: id,
          startTime: new Date(group.createdAt).toISOString(),
          elapsedSecs: ((group.lastFinishedAt ?? Date.now()) - group.createdAt) / 1000,
          jobParameters: spec.params,
          results: results.map(({ expired: _, ...r }) => r),
        };
        const bytes = Buffer.byteLength(JSON.stringify(params));
        if (bytes > MAX_COMBINER_PARAMS_BYTES) {
          // Sandboxes have no network, so a combiner cannot page /v1/batches/:id/results itself yet.
          const why = `the partial results are ${bytes} bytes of params, past the combiner's limit of ${MAX_COMBINER_PARAMS_BYTES}`;
          this.refused.set(id, why);
          log.warn({ module: 'batches', batchId: id, bytes }, 'results too big for the combiner: no combiner');
          // Left among the groups being made: the next start works the refusal out again.
          return this.stop(id);
        }
        await scheduler.invoke(spec.combiner, params, { callId: combinerCallId(id), idempotencyKey: `${id}/combiner`, ...madeBy(group) });
        log.info({ module: 'batches', batchId: id }, 'combiner called');
      }
    }
    await db.call('groupMade', { id });
    this.stop(id);
  }

  private failuresPastTolerance(group: Group): boolean {
    const failed = group.total - (group.counts.DONE ?? 0);
    return failed > toleratedCount(group.spec as BatchSpec, group.total);
  }

  private stop(id: string): void {
    const d = this.driving.get(id);
    if (d) clearTimeout(d.timer);
    this.driving.delete(id);
  }

  private async combinerCall(id: string): Promise<Call | null> {
    try {
      return await this.deps.db.call('getCall', { id: combinerCallId(id) });
    } catch (err) {
      if (err instanceof FerryError && err.code === ErrorCode.NOT_FOUND) return null;
      throw err;
    }
  }

  // ── reading ────────────────────────────────────────────────────────────────────────────────

  /** NOT_FOUND unless `id` is a batch job. */
  async get(id: string): Promise<Group> {
    return groupOfKind(this.deps.db, id, 'batch');
  }

  async view(id: string): Promise<BatchView> {
    return this.viewOf(await this.get(id));
  }

  private async viewOf(group: Group): Promise<BatchView> {
    const spec = group.spec as BatchSpec;
    const made = sumCounts(group.counts);
    const ended = sumCounts(group.counts, ENDED);
    const allEnded = ended === made && (made === group.total || Date.now() >= group.createdAt + spec.timeoutSecs * 1000);
    const combiner = allEnded ? await this.combinerCall(group.id) : null;
    let state: BatchState = BatchState.running;
    let error: string | null = null;
    if (group.cancelledAt !== null) state = BatchState.cancelled;
    else if (combiner) state = combiner.status === 'DONE' ? BatchState.done : ENDED.includes(combiner.status) ? BatchState.failed : BatchState.combining;
    else if (allEnded && this.failuresPastTolerance(group)) {
      state = BatchState.failed;
      error = `${group.total - (group.counts.DONE ?? 0)} batches did not succeed; ${toleratedCount(spec, group.total)} tolerated`;
    } else if (this.refused.has(group.id)) {
      state = BatchState.failed;
      error = this.refused.get(group.id) ?? null;
    }
    if (combiner && combiner.status !== 'DONE' && ENDED.includes(combiner.status)) error = `the combiner ended ${combiner.status}`;
    const endAt = state === BatchState.running || state === BatchState.combining ? Date.now() : (combiner?.finishedAt ?? group.lastFinishedAt ?? group.cancelledAt ?? Date.now());
    return {
      id: group.id,
      state,
      worker: group.function,
      combiner: spec.combiner,
      numBatches: group.total,
      counts: group.counts,
      startTime: new Date(group.createdAt).toISOString(),
      elapsedSecs: (endAt - group.createdAt) / 1000,
      combinerCallId: combiner?.id ?? null,
      combinerResult: combiner?.status === 'DONE' ? parseResult(combiner.result) : null,
      error,
    };
  }

  async list(limit: number, cursor: string | undefined): Promise<{ batches: BatchView[]; nextCursor: string | null }> {
    const page = await this.deps.db.call('listGroups', { kind: 'batch', limit, ...(cursor ? { cursor } : {}) });
    return { batches: await Promise.all(page.groups.map((g) => this.viewOf(g))), nextCursor: page.nextCursor };
  }

  /** A page of partial results, the latest made first (the cursor is a callNum, as for /v1/calls). */
  async results(id: string, limit: number, cursor: string | undefined): Promise<{ results: BatchResult[]; nextCursor: string | null }> {
    const group = await this.get(id);
    const page = await this.deps.db.call('listCalls', { groupId: id, limit, ...(cursor ? { cursor } : {}) });
    const now = Date.now();
    return { results: page.calls.map((c) => batchResult(group.spec as BatchSpec, c, now)), nextCursor: page.nextCursor };
  }

  /** Cancels the job: its unfinished worker calls are cancelled through the lifecycle, and no combiner runs. */
  async cancel(id: string): Promise<BatchView> {
    const { db, scheduler } = this.deps;
    const group = await this.get(id);
    if (await this.combinerCall(id)) return this.viewOf(group);
    // Marked first: a step that follows makes nothing more and calls no combiner.
    await db.call('cancelGroup', { id });
    const d = this.driving.get(id);
    this.stop(id);
    // A step making a call finishes it first, so that call is among those cancelled.
    if (d) await d.chain;
    const open = await this.unfinished(id);
    for (const callId of open) {
      await scheduler.calls.cancel(callId).catch((err: unknown) => {
        if (!(err instanceof FerryError && (err.code === ErrorCode.CONFLICT || err.code === ErrorCode.NOT_FOUND))) throw err;
      });
    }
    await db.call('groupMade', { id });
    this.deps.log.info({ module: 'batches', batchId: id, cancelled: open.length }, 'batch job cancelled');
    return this.view(id);
  }

  /** The job's calls, a page of the `ig!` index at a time. */
  private async eachPage(id: string, use: (calls: Call[]) => void): Promise<void> {
    let cursor: string | null = null;
    do {
      const page: { calls: Call[]; nextCursor: string | null } = await this.deps.db.call('listCalls', { groupId: id, limit: PAGE, ...(cursor ? { cursor } : {}) });
      use(page.calls);
      cursor = page.nextCursor;
    } while (cursor);
  }

  /** The ids of the job's unfinished calls (at most maxParallelism of them). */
  private async unfinished(id: string): Promise<string[]> {
    const out: string[] = [];
    await this.eachPage(id, (calls) => out.push(...calls.filter((c) => !ENDED.includes(c.status)).map((c) => c.id)));
    return out;
  }
}

