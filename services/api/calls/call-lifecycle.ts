import type { DbClient } from '../../../shared/clients/db-client.js';
import { ErrorCode, FerryError } from '../../../shared/errors.js';
import { callLogger, type Logger } from '../../../shared/logger.js';
import type { CallError } from '../../../shared/protocol/call-outcome.js';
import type { CallPatch, DbRequestContent } from '../../../shared/protocol/db-messages.js';
import type { Call, CallStatus, RetryPolicy } from '../../../shared/protocol/domain.js';
import { executionId, type ExecutionState } from '../../../shared/protocol/execution.js';
import type { WorkerToApiContent } from '../../../shared/protocol/worker-messages.js';
import { CallEvents } from './call-events.js';
import { HeldWrites } from './held-writes.js';
import { asCreated, LiveCalls, stored, type ExecutionEnd, type LiveCall } from './live-calls.js';
import { ProgressWrites } from './progress-writes.js';
import { lossesWith, planAfterFailure } from './retry-plan.js';
import { StuckWatch } from './stuck-watch.js';
import { IN_FLIGHT, isFinal, move, RETRYABLE } from './transitions.js';

/** What a call's function version asks of its lifecycle. */
export interface CallPolicy {
  retry: RetryPolicy | null;
  stuckAfterMs: number | null;
}

export interface LifecycleOptions {
  db: DbClient;
  log: Logger;
  /** Executions a call may lose to the infrastructure (node lost or restarted, could not run it). */
  maxAttempts: number;
  /** The retry policy and stuck limit of a call's function version. */
  policyOf: (call: Pick<Call, 'funcName' | 'version'>) => Promise<CallPolicy>;
  /** Progress and metrics of one call are written at most this often (the latest always is). */
  progressWriteMs?: number;
  /** How long a sync call's create (from its dispatch) waits for its start or end, and a RUNNING write for the end, to go with them (see {@link CallLifecycle.create}); 0: not at all. */
  callWriteHoldMs: number;
}

/** What a held create carries when the call's start or end came first. */
type CreateUpdate = NonNullable<DbRequestContent['createCall']['update']>;

type CallRef = { callId: string; attempt: number };

/**
 * The one owner of call state. It alone writes a call's status, checks each move against the
 * state machine ({@link move}, enforced by the store's compare-and-set), fences every report from
 * a node by execution (attempt and node), keeps one record per execution, applies the function's
 * retry policy and stuck limit, and emits an event for each change ({@link events}). Queueing,
 * placement and node liveness are the scheduler's; it tells this module what it did (dispatched,
 * a node lost) and listens.
 */
export class CallLifecycle {
  readonly events = new CallEvents();
  private readonly live: LiveCalls;
  private readonly progressWrites: ProgressWrites;
  private readonly stuckWatch: StuckWatch;
  private readonly held: HeldWrites<CreateUpdate>;
  /** RUNNING writes of stored calls, held for their end: a call that ends by then is written once, ended. */
  private readonly heldStarts: HeldWrites<never>;

  constructor(private readonly opts: LifecycleOptions) {
    this.held = new HeldWrites(opts.callWriteHoldMs);
    this.heldStarts = new HeldWrites(opts.callWriteHoldMs);
    this.progressWrites = new ProgressWrites(opts.progressWriteMs ?? 1_000, (callId) => this.writeProgress(callId));
    this.stuckWatch = new StuckWatch((callId, attempt, silentMs) => void this.stuck(callId, attempt, silentMs));
    this.live = new LiveCalls(
      opts.db,
      this.events,
      (callId, final) => {
        this.stuckWatch.forget(callId);
        if (final) this.progressWrites.forget(callId);
      },
      (callId) => {
        this.progressWrites.forget(callId);
        this.stuckWatch.forget(callId);
      },
    );
  }

  close(): void {
    this.held.close();
    this.heldStarts.close();
    this.stuckWatch.close();
  }

  /** The function of a call this process carries once its create is stored; undefined else. */
  funcNameOf(callId: string): string | undefined {
    return this.live.get(callId)?.stored?.funcName;
  }

  /**
   * Stores a new call, PENDING (or HELD with `hold`). If the create fails the call was never
   * accepted: it is forgotten and the error thrown. An idempotency key may answer a call made
   * before (`replayed`): nothing new.
   *
   * A sync call (`beforeWrite`, which queues it) runs while its create waits: while it waits for
   * a node, then for up to `callWriteHoldMs` from its dispatch, or until a report other than its
   * start or a DONE end needs the stored call. A DONE end that comes first is written with the
   * create, one write for the whole call; a start that comes first goes with the create (stored
   * RUNNING), and the end follows as an update. Either way this resolves only once the call is
   * stored, so nothing answers the caller before the call is durable: an api that dies while a
   * create is held has told nobody of the call (its node's report then finds no call, and is
   * dropped), and a read after the answer finds the call ended.
   */
  async create(spec: DbRequestContent['createCall'], beforeWrite?: () => void): Promise<Call & { replayed?: boolean }> {
    let store!: (created: Promise<Call & { replayed?: boolean }>) => void;
    const created = new Promise<Call & { replayed?: boolean }>((resolve) => (store = resolve));
    const live: LiveCall = { callId: spec.id, attempt: 1, nodeId: null, dispatchedAt: null, created, stored: null, writing: 0 };
    if (!spec.hold) this.live.add(live);
    created.catch(() => undefined);
    if (beforeWrite && this.opts.callWriteHoldMs > 0) {
      this.held.hold(spec.id, (end) => {
        delete live.release;
        const update = end ?? startedUpdate(live);
        store(this.opts.db.call('createCall', update ? { ...spec, update } : spec));
      });
      live.release = () => this.held.release(spec.id);
      beforeWrite();
    } else {
      beforeWrite?.();
      store(this.opts.db.call('createCall', spec));
    }
    try {
      const call = await created;
      if (call.replayed || call.id !== spec.id) {
        this.live.forget(live);
        return call;
      }
      live.stored ??= call;
      if (call.status === 'PENDING' || call.status === 'HELD') {
        this.events.emit(call.id, { type: 'status', call, from: null });
        return call;
      }
      // Stored with what followed its create: told as two moves, as if written in two, so
      // listeners count a call made, then started or ended.
      this.events.emit(call.id, { type: 'status', call: asCreated(call), from: null });
      if (isFinal(call.status)) this.live.forget(live);
      this.events.emit(call.id, { type: 'status', call, from: 'PENDING' });
      if (call.status === 'RUNNING') void this.watchStuck(live, call.workerId ?? '', call.attempt);
      return call;
    } catch (err) {
      this.live.forget(live);
      throw err;
    }
  }

  /** Sends a sync call's create now if it is still held (see {@link create}). */
  storeNow(callId: string): void {
    this.held.release(callId);
  }

  /** The scheduler sent the call's current execution to `nodeId`. */
  dispatched(callId: string, attempt: number, nodeId: string): void {
    const live = this.live.get(callId);
    if (!live || live.attempt !== attempt) return;
    live.nodeId = nodeId;
    live.dispatchedAt = Date.now();
    this.held.arm(callId);
  }

  /**
   * A call found unfinished at start (the api restarted), which a node says it is still running:
   * carried on where it is, not run again.
   */
  adopt(call: Call, nodeId: string): void {
    this.live.add({ ...this.live.carried(call), nodeId, dispatchedAt: call.executions?.at(-1)?.createdAt ?? null });
  }

  /** A stored call this process takes charge of (found at start, or moved on by a request). */
  carry(call: Call): void {
    this.live.add(this.live.carried(call));
  }

  // ── requests ───────────────────────────────────────────────────────────────────────────────

  /** Runs a HELD call: it goes to PENDING and into the queue. */
  async dispatchHeld(callId: string): Promise<Call> {
    const call = await this.opts.db.call('getCall', { id: callId });
    if (call.status !== 'HELD') throw new FerryError(ErrorCode.CONFLICT, `call ${callId} is ${call.status}, not HELD: only a held call is dispatched`);
    this.carry(call);
    return this.live.write(this.live.get(callId)!, 'PENDING', {}, undefined, move(['HELD'], 'PENDING'));
  }

  /**
   * Runs an ended call that did not end DONE again, as a new execution of the same call, with
   * its retry policy's attempts counted afresh; it leaves the dead letters.
   */
  async retryEnded(callId: string): Promise<Call> {
    const call = await this.opts.db.call('getCall', { id: callId });
    if (!RETRYABLE.includes(call.status)) {
      throw new FerryError(ErrorCode.CONFLICT, call.status === 'DONE' ? `call ${callId} ended DONE: it is not run again` : `call ${callId} is ${call.status}: it has not ended`);
    }
    this.carry(call);
    const set: CallPatch = { attempt: call.attempt + 1, failures: 0, deadLetter: false, nextAttemptAt: null, workerId: null, startedAt: null, finishedAt: null };
    return this.live.write(this.live.get(callId)!, 'PENDING', set, undefined, move([call.status], 'PENDING'));
  }

  /** Stops an unfinished call: CANCELLED if it had not started, KILLED if it was running. */
  async cancel(callId: string): Promise<Call> {
    // A start held back is stored first: a call that has started is KILLED, not CANCELLED.
    this.heldStarts.release(callId);
    for (;;) {
      const call = await this.opts.db.call('getCall', { id: callId });
      if (isFinal(call.status)) throw new FerryError(ErrorCode.CONFLICT, `call ${callId} has already ended (${call.status})`);
      const to: CallStatus = call.status === 'RUNNING' ? 'KILLED' : 'CANCELLED';
      const live = this.live.get(callId) ?? this.live.carried(call);
      const reason = { code: to, message: to === 'KILLED' ? 'killed by request while it ran' : 'cancelled by request' };
      const execution = live.nodeId !== null ? { nodeId: live.nodeId, state: to, finishedAt: Date.now(), failureReason: reason } : undefined;
      try {
        return await this.live.write(live, to, { finishedAt: Date.now(), error: reason, nextAttemptAt: null }, execution, move([call.status], to), call.attempt);
      } catch (err) {
        // It moved on meanwhile (started, or ended): look again.
        if (!(err instanceof FerryError && err.code === ErrorCode.CONFLICT)) throw err;
      }
    }
  }

  /** Resolves with the call once it has ended, or with null after `timeoutMs`. */
  waitForEnd(callId: string, timeoutMs: number): Promise<Call | null> {
    return new Promise((resolve) => {
      const stop = this.events.subscribe(callId, (event) => {
        if (event.type === 'status' && isFinal(event.call.status)) done(event.call);
      });
      const timer = setTimeout(() => done(null), timeoutMs);
      const done = (call: Call | null): void => {
        clearTimeout(timer);
        stop();
        resolve(call);
      };
    });
  }

  // ── reports from nodes ─────────────────────────────────────────────────────────────────────

  async started(nodeId: string, report: WorkerToApiContent<'started'>): Promise<void> {
    if (this.held.has(report.callId)) {
      // Its create is still held: the start goes with it (see create()).
      const live = this.current(nodeId, report, 'started');
      if (live) live.startedAt = report.startedAt;
      return;
    }
    const live = await this.fenced(nodeId, report, 'started');
    if (!live) return;
    const set: CallPatch = { workerId: nodeId, startedAt: report.startedAt, ...(live.stored?.nextAttemptAt ? { nextAttemptAt: null } : {}) };
    const execution: ExecutionEnd = { nodeId, state: 'RUNNING', startedAt: report.startedAt };
    const write = (told: boolean): void => {
      const running = this.live.write(live, 'RUNNING', set, execution, move(['PENDING'], 'RUNNING'), live.attempt, told);
      running.catch((err: unknown) => this.stale(err, report.callId, 'started'));
      // After the write, which lets go of any watch of the call's status before.
      void this.watchStuck(live, nodeId, report.attempt);
    };
    if (this.opts.callWriteHoldMs > 0) {
      // Its end, when it comes within the hold, carries the start: no RUNNING write then. Those
      // who follow the call hear it running now all the same.
      this.live.tellAhead(live, 'RUNNING', set, execution);
      this.heldStarts.hold(report.callId, () => write(true));
      this.heldStarts.arm(report.callId);
    } else {
      write(false);
    }
  }

  /** Watched from its start: a function that hangs before its first report is stuck too. */
  private async watchStuck(live: LiveCall, nodeId: string, attempt: number): Promise<void> {
    const { stuckAfterMs } = await this.policy(live);
    if (stuckAfterMs !== null && this.current(nodeId, { callId: live.callId, attempt }, 'started')) this.stuckWatch.watch(live.callId, attempt, stuckAfterMs);
  }

  /** Progress, metrics and log lines: told to listeners at once, written coalesced. */
  async progress(nodeId: string, report: WorkerToApiContent<'progress'>): Promise<void> {
    const live = this.current(nodeId, report, 'progress');
    if (!live) return;
    this.stuckWatch.heard(report.callId, report.attempt);
    const ref = { callId: report.callId, attempt: report.attempt, executionId: executionId(report.callId, report.attempt) };
    if (report.log !== undefined) this.events.emit(report.callId, { type: 'log', ...ref, line: report.log });
    if (report.progress === undefined && report.metrics === undefined) return;
    if (report.progress !== undefined) live.progress = report.progress;
    if (report.metrics !== undefined) live.metrics = report.metrics;
    this.events.emit(report.callId, {
      type: 'progress',
      ...ref,
      ...(report.progress !== undefined ? { progress: report.progress } : {}),
      ...(report.metrics !== undefined ? { metrics: report.metrics } : {}),
    });
    this.progressWrites.changed(report.callId);
  }

  /**
   * A node's final report of a call's run. A failure of the function goes on to another
   * execution while its retry policy allows. Resolves true when the node may forget the report
   * (stored, or stale), false when the DB did not answer (the node sends it again).
   */
  async finished(nodeId: string, report: WorkerToApiContent<'finished'>): Promise<boolean> {
    const { outcome } = report;
    // Both ends by the node's clock: the interval is when the node ran it, not when we heard.
    const finishedAt = report.finishedAt ?? Date.now();
    const execution: ExecutionEnd = { nodeId, state: outcome.status, startedAt: report.startedAt, finishedAt, failureReason: outcome.error };
    // The call's own end too: a run's details and its last end read it, retention ages it from it.
    const set: CallPatch = { ...outcome, workerId: nodeId, startedAt: report.startedAt, finishedAt };
    if (outcome.status === 'DONE') return this.end(nodeId, report, 'DONE', set, execution);
    return this.end(nodeId, report, outcome.status, set, execution, outcome.error);
  }

  /**
   * A node could not run a call. Retryable: the call goes on to another execution while it has
   * executions left to lose; otherwise it ends ERROR with the node's reason.
   */
  async failed(nodeId: string, report: WorkerToApiContent<'failed'>): Promise<boolean> {
    const reason = { code: report.code, message: report.message };
    if (report.retryable) {
      const live = await this.fenced(nodeId, report, 'failed');
      if (!live) return true;
      return this.requeue(report, nodeId, 'FAILED', reason);
    }
    const set: CallPatch = { error: reason, workerId: nodeId, deadLetter: true };
    return this.end(nodeId, report, 'ERROR', set, { nodeId, state: 'ERROR', finishedAt: Date.now(), failureReason: reason });
  }

  /**
   * The current execution's node is gone (lost, restarted, or the api restarted without it
   * claiming the call): the call goes on to another attempt, or ends ERROR `WORKER_LOST`.
   */
  async lost(call: CallRef, nodeId: string | null, why: string): Promise<void> {
    await this.requeue(call, nodeId, 'LOST', { code: 'WORKER_LOST', message: why });
  }

  // ── writes ─────────────────────────────────────────────────────────────────────────────────

  /**
   * Ends a call's execution from a node's report: DONE, or a failure of the function, which its
   * retry policy may turn into another execution. True when the node may forget the report.
   */
  private async end(nodeId: string, report: CallRef, status: CallStatus, set: CallPatch, execution: ExecutionEnd, failure?: CallError | null): Promise<boolean> {
    const live = this.live.get(report.callId);
    if (live && (live.attempt !== report.attempt || live.nodeId !== nodeId)) {
      this.opts.log.warn({ callId: report.callId, attempt: report.attempt, nodeId, current: live.attempt }, 'stale report dropped');
      return true;
    }
    // This write carries the start (startedAt, workerId): a RUNNING write still held is not needed.
    if (live) this.heldStarts.take(report.callId);
    const createWithEnd = live && status === 'DONE' ? this.held.take(report.callId) : undefined;
    if (live && createWithEnd) return this.endInCreate(live, set, execution, createWithEnd);
    if (live && !(await stored(live))) {
      // Never stored, so never accepted: the caller was told so; nothing to record.
      this.live.forget(live);
      return true;
    }
    if (live && (this.live.get(report.callId) !== live || live.attempt !== report.attempt)) {
      // It moved on while its create was being stored (its node was lost meanwhile).
      this.opts.log.warn({ callId: report.callId, attempt: report.attempt, nodeId }, 'stale report dropped');
      return true;
    }
    // Without a live entry (the api restarted) the store's compare-and-set is the fence.
    const target = live ?? this.live.carried({ id: report.callId, attempt: report.attempt, workerId: nodeId });
    const latest = {
      ...(target.progress !== undefined ? { progress: target.progress } : {}),
      ...(target.metrics !== undefined ? { metrics: target.metrics } : {}),
    };
    try {
      if (failure !== undefined && target.stored) {
        // A failure of the function itself: its retry policy says whether another execution follows.
        const plan = planAfterFailure(target.stored, (await this.policy(target)).retry, failure, Date.now());
        if (plan.again) {
          const next: CallPatch = { ...set, ...latest, attempt: report.attempt + 1, failures: plan.failures, nextAttemptAt: plan.nextAttemptAt, workerId: null, startedAt: null, finishedAt: null };
          await this.live.write(target, 'PENDING', next, { ...execution, ...latest }, move(IN_FLIGHT, 'PENDING'));
          callLogger(this.opts.log, { callId: report.callId, requestId: target.stored.requestId }).info({ attempt: report.attempt + 1, nextAttemptAt: plan.nextAttemptAt }, 'call retried');
          return true;
        }
        set = { ...set, failures: plan.failures, deadLetter: true };
      } else if (failure !== undefined) {
        set = { ...set, deadLetter: true };
      }
      const withProgress: CallPatch = { ...set, ...latest, ...(latest.progress === undefined && status === 'DONE' && live ? { progress: 1 } : {}) };
      await this.live.write(target, status, withProgress, { ...execution, ...latest }, move(IN_FLIGHT, status));
      return true;
    } catch (err) {
      if (err instanceof FerryError && (err.code === ErrorCode.CONFLICT || err.code === ErrorCode.NOT_FOUND)) {
        this.stale(err, report.callId, 'final report');
        return true;
      }
      this.opts.log.warn({ err, callId: report.callId }, 'result not stored yet; the worker will resend it');
      return false;
    }
  }

  /** A sync call's DONE end that came while its create was held: both go in one write. */
  private async endInCreate(live: LiveCall, set: CallPatch, execution: ExecutionEnd, send: (end?: CreateUpdate) => void): Promise<boolean> {
    const latest = {
      ...(live.progress !== undefined ? { progress: live.progress } : {}),
      ...(live.metrics !== undefined ? { metrics: live.metrics } : {}),
    };
    const patch = { attempt: live.attempt, ...(live.dispatchedAt !== null ? { createdAt: live.dispatchedAt } : {}), ...execution, ...latest };
    send({ set: { ...set, ...latest, ...(latest.progress === undefined ? { progress: 1 } : {}), status: 'DONE' }, execution: patch });
    // Stored, or refused: then the caller hears the error and the call was never accepted.
    await stored(live);
    return true;
  }

  /** The execution was given up for the infrastructure's sake: on to the next, or ERROR when none is left. */
  private async requeue(call: CallRef, nodeId: string | null, state: ExecutionState, reason: CallError): Promise<boolean> {
    const live = this.live.get(call.callId) ?? this.live.carried({ id: call.callId, attempt: call.attempt, workerId: nodeId });
    if (live.attempt !== call.attempt) return true;
    this.heldStarts.take(call.callId);
    if (!(await stored(live))) {
      this.live.forget(live);
      return true;
    }
    const ended = { nodeId, state, finishedAt: Date.now(), failureReason: reason };
    const losses = lossesWith(live.stored, call.attempt);
    try {
      if (losses >= this.opts.maxAttempts) {
        const error = { code: reason.code, message: `gave up after ${losses} executions lost; last: ${reason.message}` };
        await this.live.write(live, 'ERROR', { error, finishedAt: Date.now(), deadLetter: true }, ended, move(IN_FLIGHT, 'ERROR'));
      } else {
        await this.live.write(live, 'PENDING', { attempt: call.attempt + 1, workerId: null, startedAt: null }, ended, move(IN_FLIGHT, 'PENDING'));
        callLogger(this.opts.log, { callId: call.callId, requestId: live.stored?.requestId }).warn({ attempt: call.attempt + 1, why: reason.message }, 'call requeued');
      }
      return true;
    } catch (err) {
      this.stale(err, call.callId, 'requeue');
      return !(err instanceof FerryError) || err.code === ErrorCode.CONFLICT || err.code === ErrorCode.NOT_FOUND;
    }
  }

  /**
   * An execution reported nothing for its function's `stuckAfterMs`: it ends STUCK (the scheduler
   * has its node stop it, container and all), and the call goes on as its retry policy allows,
   * else ends KILLED.
   */
  private async stuck(callId: string, attempt: number, silentMs: number): Promise<void> {
    // Its start is stored first, if it was still held: the moves below are from RUNNING.
    this.heldStarts.release(callId);
    const live = this.live.get(callId);
    if (!live || live.attempt !== attempt || !live.stored) return;
    const reason = { code: 'STUCK', message: `reported nothing for ${Math.round(silentMs)} ms` };
    callLogger(this.opts.log, { callId, requestId: live.stored.requestId }).warn({ attempt, nodeId: live.nodeId, silentMs }, 'stuck execution killed');
    const ended = { nodeId: live.nodeId, state: 'STUCK' as const, finishedAt: Date.now(), failureReason: reason };
    try {
      const plan = planAfterFailure(live.stored, (await this.policy(live)).retry, reason, Date.now());
      if (plan.again) {
        await this.live.write(live, 'PENDING', { attempt: attempt + 1, failures: plan.failures, nextAttemptAt: plan.nextAttemptAt, error: reason, workerId: null, startedAt: null }, ended, move(['RUNNING'], 'PENDING'));
      } else {
        await this.live.write(live, 'KILLED', { error: reason, failures: plan.failures, finishedAt: Date.now(), deadLetter: true }, ended, move(['RUNNING'], 'KILLED'));
      }
    } catch (err) {
      this.stale(err, callId, 'stuck');
    }
  }

  private async writeProgress(callId: string): Promise<void> {
    const live = this.live.get(callId);
    if (!live || live.nodeId === null || !(await stored(live))) return;
    const set: CallPatch = {
      ...(live.progress !== undefined ? { progress: live.progress } : {}),
      ...(live.metrics !== undefined ? { metrics: live.metrics } : {}),
    };
    await this.live.write(live, null, set, { nodeId: live.nodeId, ...set }, IN_FLIGHT).catch((err: unknown) => this.stale(err, callId, 'progress'));
  }

  private async policy(live: LiveCall): Promise<CallPolicy> {
    const call = live.stored;
    if (!call) return { retry: null, stuckAfterMs: null };
    return this.opts.policyOf(call).catch((err: unknown) => {
      this.opts.log.warn({ err, callId: call.id }, 'function policy unknown; no retry, no stuck limit');
      return { retry: null, stuckAfterMs: null };
    });
  }

  /** The live entry of a fenced report, once its call is stored; undefined (logged) if stale. */
  private async fenced(nodeId: string, report: CallRef, what: string): Promise<LiveCall | undefined> {
    const live = this.current(nodeId, report, what);
    if (!live || !(await stored(live))) return undefined;
    // Looked at again: it may have moved on while its create was being stored.
    return this.current(nodeId, report, what);
  }

  private current(nodeId: string, report: CallRef, what: string): LiveCall | undefined {
    const live = this.live.get(report.callId);
    if (live && live.attempt === report.attempt && live.nodeId === nodeId) return live;
    this.opts.log.warn({ callId: report.callId, attempt: report.attempt, nodeId, what }, 'stale report dropped');
    return undefined;
  }

  private stale(err: unknown, callId: string, what: string): void {
    if (err instanceof FerryError && err.code === ErrorCode.CONFLICT) {
      this.opts.log.warn({ callId, what, reason: err.message }, 'stale report dropped');
    } else {
      this.opts.log.error({ err, callId, what }, 'call update failed');
    }
  }
}

/** The start of a call whose create was held, to go with the create (stored RUNNING); undefined when it has not started. */
function startedUpdate(live: LiveCall): CreateUpdate | undefined {
  if (live.startedAt === undefined || live.nodeId === null) return undefined;
  const { startedAt, nodeId } = live;
  return {
    set: { status: 'RUNNING', workerId: nodeId, startedAt },
    execution: { attempt: live.attempt, nodeId, state: 'RUNNING', startedAt, ...(live.dispatchedAt !== null ? { createdAt: live.dispatchedAt } : {}) },
  };
}
