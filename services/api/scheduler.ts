import { nanoid } from 'nanoid';
import type { DbClient } from '../../shared/clients/db-client.js';
import type { ApiConfig } from '../../shared/config.js';
import { ErrorCode, FerryError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { CallPatch } from '../../shared/protocol/db-messages.js';
import { CallStatus, type Call, type FunctionVersion, type Runtime } from '../../shared/protocol/domain.js';
import {
  HEARTBEAT_INTERVAL_MS,
  HEARTBEAT_LIVENESS,
  type WorkerToApi,
  type WorkerToApiContent,
} from '../../shared/protocol/worker-messages.js';
import type { CatalogCache } from './catalog-cache.js';
import { NodeRegistry, type NodeState } from './node-registry.js';
import { WorkerChannel } from './worker-channel.js';

interface Queued {
  callId: string;
  attempt: number;
  fn: FunctionVersion;
  runtime: Runtime;
  params: unknown;
  /** The call as the DB created it; a sync call is dispatched while this is still being written. */
  created: Promise<Call>;
}

interface InFlight extends Queued {
  nodeId: string;
  /** Latest progress and metrics reported, for an answer given before the DB has them. */
  progress?: number;
  metrics?: Record<string, number>;
}

const FINAL: ReadonlySet<CallStatus> = new Set<CallStatus>(['DONE', 'ERROR', 'TIMEOUT', 'KILLED', 'CANCELLED']);
const UNFINISHED: CallStatus[] = ['PENDING', 'RUNNING'];

/** Progress and metrics are kept in memory and written at most this often per call. */
const PROGRESS_WRITE_MS = 1_000;

export interface SchedulerOptions {
  config: ApiConfig;
  db: DbClient;
  catalog: CatalogCache;
  log: Logger;
  heartbeatMs?: number;
}

/**
 * The scheduler and the one owner of call state. Calls are persisted PENDING before the caller
 * hears back, wait in a bounded FIFO queue, and go to a node with a warm container for them or
 * else the least-loaded node with room. Every report from a worker is checked against the call's
 * current attempt (fencing) and the state machine; a node that falls silent has its calls
 * requeued with attempt + 1, at most `maxAttempts` tries in all.
 *
 * DB writes per call on the fast path: the PENDING create (the call is accepted only once it is
 * durable) and the final result. A RUNNING write happens only when the worker reports `started`,
 * which it does only for calls still running after a few milliseconds.
 */
export class Scheduler {
  readonly nodes: NodeRegistry;
  private readonly channel: WorkerChannel;
  private readonly queue: Queued[] = [];
  private readonly inFlight = new Map<string, InFlight>();
  private readonly waiters = new Map<string, Set<(call: Call) => void>>();
  /** Unfinished calls found in the DB at start, until a worker claims them or the grace ends. */
  private readonly recovering = new Map<string, Call>();
  private readonly progressWrittenAt = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private recoveryTimer: NodeJS.Timeout | undefined;
  private readonly heartbeatMs: number;

  constructor(private readonly opts: SchedulerOptions) {
    this.heartbeatMs = opts.heartbeatMs ?? HEARTBEAT_INTERVAL_MS;
    this.nodes = new NodeRegistry(this.heartbeatMs, opts.config.dispatchAhead);
    this.channel = new WorkerChannel(opts.log.child({ module: 'worker-channel' }), (nodeId, msg) => this.onWorkerMessage(nodeId, msg));
  }

  get queued(): number {
    return this.queue.length;
  }

  get running(): number {
    return this.inFlight.size;
  }

  async start(): Promise<string> {
    const endpoint = await this.channel.bind(this.opts.config.workersBind);
    await this.recover();
    this.timer = setInterval(() => this.tick(), this.heartbeatMs);
    return endpoint;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.recoveryTimer);
    this.channel.close();
  }

  /**
   * Accepts a call: checks the queue has room (QUEUE_FULL), resolves the function (NOT_FOUND),
   * persists the call PENDING, and queues it. Resolves once the call is durable. With `wait`,
   * `ended` resolves with the finished call, or null if it has not ended within
   * min(wait.maxMs, the function's timeout + 5 s).
   */
  async invoke(
    ref: string,
    params: unknown,
    options: { sessionId?: string; wait?: { maxMs: number } } = {},
  ): Promise<{ call: Call; ended: Promise<Call | null> | null }> {
    if (this.queue.length >= this.opts.config.queueMax) {
      throw new FerryError(ErrorCode.QUEUE_FULL, `every node is busy and ${this.queue.length} calls are already waiting`);
    }
    const { fn, runtime } = await this.opts.catalog.resolve(ref);
    const id = nanoid();
    const create = (): Promise<Call> =>
      this.opts.db.call('createCall', {
        id,
        funcName: fn.name,
        version: fn.version,
        params: params ?? null,
        ...(options.sessionId ? { sessionId: options.sessionId } : {}),
      });
    if (!options.wait) {
      // An async call is accepted once it is durable, and only an accepted call runs.
      const created = create();
      const call = await created;
      this.enqueue({ callId: id, attempt: 1, fn, runtime, params: params ?? null, created });
      return { call, ended: null };
    }
    // A sync caller hears nothing until the end, so the call runs while its create is written;
    // its reports wait for the create (see onFinal). If the create fails the caller gets the error.
    // The dispatch is queued before the create so it leaves first.
    let adopt!: (create: Promise<Call>) => void;
    const created = new Promise<Call>((resolve) => (adopt = resolve));
    const ended = this.waitForEnd(id, Math.min(options.wait.maxMs, fn.timeoutMs + 5_000));
    this.enqueue({ callId: id, attempt: 1, fn, runtime, params: params ?? null, created });
    adopt(create());
    try {
      return { call: await created, ended };
    } catch (err) {
      this.withdraw(id); // never stored, so never accepted
      throw err;
    }
  }

  private enqueue(q: Queued): void {
    this.queue.push(q);
    this.pump();
  }

  /** Takes a call back: out of the queue, or its node told to stop it. */
  private withdraw(callId: string): void {
    const queuedAt = this.queue.findIndex((q) => q.callId === callId);
    if (queuedAt >= 0) this.queue.splice(queuedAt, 1);
    const flight = this.inFlight.get(callId);
    if (flight) {
      this.release(flight);
      this.channel.send(flight.nodeId, 'cancel', { callId, attempt: flight.attempt });
    }
  }

  /** Resolves with the call once it has ended, or with null after `timeoutMs`. */
  waitForEnd(callId: string, timeoutMs: number): Promise<Call | null> {
    return new Promise((resolve) => {
      const set = this.waiters.get(callId) ?? new Set();
      this.waiters.set(callId, set);
      const done = (call: Call | null): void => {
        clearTimeout(timer);
        set.delete(onEnd);
        if (set.size === 0) this.waiters.delete(callId);
        resolve(call);
      };
      const onEnd = (call: Call): void => done(call);
      const timer = setTimeout(() => done(null), timeoutMs);
      set.add(onEnd);
    });
  }

  /** Cancels an unfinished call: dropped from the queue, or its node told to stop it. */
  async cancel(callId: string): Promise<Call> {
    const call = await this.opts.db.call('getCall', { id: callId });
    if (FINAL.has(call.status)) throw new FerryError(ErrorCode.CONFLICT, `call ${callId} has already ended (${call.status})`);
    this.withdraw(callId);
    const ended = await this.opts.db.call('updateCall', {
      id: callId,
      expect: { status: UNFINISHED, attempt: call.attempt },
      set: { status: 'CANCELLED', finishedAt: Date.now(), error: { code: 'CANCELLED', message: 'cancelled by request' } },
    });
    this.ended(ended);
    return ended;
  }

  // ── worker messages ────────────────────────────────────────────────────────────────────────

  private onWorkerMessage(nodeId: string, msg: WorkerToApi): void {
    if (msg.msgType === 'hello') {
      this.onHello(nodeId, msg.content);
      return;
    }
    if (!this.nodes.touch(nodeId)) {
      // A node we do not know (we restarted, or declared it dead): it must introduce itself.
      this.channel.send(nodeId, 'reconnect', {});
      if (msg.msgType !== 'finished' && msg.msgType !== 'failed') return;
    }
    switch (msg.msgType) {
      case 'heartbeat':
        this.nodes.heartbeat(nodeId, msg.content);
        return;
      case 'started':
        void this.onStarted(nodeId, msg.content);
        return;
      case 'progress':
        void this.onProgress(msg.content);
        return;
      case 'finished':
        void this.onFinal(nodeId, msg.content.callId, msg.content.attempt, finishedPatch(msg.content));
        return;
      case 'failed':
        void this.onFailed(nodeId, msg.content);
        return;
    }
  }

  private onHello(nodeId: string, content: WorkerToApiContent<'hello'>): void {
    const node = this.nodes.hello(nodeId, content);
    this.opts.log.info({ nodeId, driver: content.driver, capacity: content.capacity, running: content.running.length }, 'node joined');
    for (const { callId, attempt } of content.running) {
      const found = this.recovering.get(callId);
      if (found && found.attempt === attempt) {
        // A call the previous api process sent there: still running, so it is adopted, not re-sent.
        this.recovering.delete(callId);
        void this.opts.catalog
          .resolve(`${found.funcName}@${found.version}`)
          .then(({ fn, runtime }) => {
            const flight: InFlight = { callId, attempt, fn, runtime, params: found.params, nodeId, created: Promise.resolve(found) };
            this.inFlight.set(callId, flight);
            node.assigned.add(callId);
          })
          .catch((err: unknown) => this.opts.log.warn({ err, callId }, 'could not adopt a running call'));
      }
    }
    this.pump();
  }

  private async onStarted(nodeId: string, content: WorkerToApiContent<'started'>): Promise<void> {
    const flight = this.current(content.callId, content.attempt, nodeId);
    if (!flight || !(await isStored(flight))) return;
    await this.opts.db
      .call('updateCall', {
        id: content.callId,
        expect: { status: 'PENDING', attempt: content.attempt },
        set: { status: 'RUNNING', workerId: nodeId, startedAt: content.startedAt },
      })
      .catch((err: unknown) => this.stale(err, content.callId, 'started'));
  }

  private async onProgress(content: WorkerToApiContent<'progress'>): Promise<void> {
    const flight = this.inFlight.get(content.callId);
    if (!flight || flight.attempt !== content.attempt) return;
    const set: CallPatch = {};
    if (content.progress !== undefined) set.progress = flight.progress = content.progress;
    if (content.metrics !== undefined) set.metrics = flight.metrics = content.metrics;
    const now = Date.now();
    if (Object.keys(set).length === 0 || now - (this.progressWrittenAt.get(content.callId) ?? 0) < PROGRESS_WRITE_MS) return;
    if (!(await isStored(flight))) return;
    this.progressWrittenAt.set(content.callId, now);
    await this.opts.db
      .call('updateCall', { id: content.callId, expect: { status: UNFINISHED, attempt: content.attempt }, set })
      .catch((err: unknown) => this.stale(err, content.callId, 'progress'));
  }

  private async onFailed(nodeId: string, content: WorkerToApiContent<'failed'>): Promise<void> {
    const { callId, attempt } = content;
    const flight = this.inFlight.get(callId);
    if (content.retryable && flight && flight.attempt === attempt && flight.nodeId === nodeId) {
      this.release(flight);
      if (await isStored(flight)) await this.requeue(flight, `${content.code}: ${content.message}`);
      this.channel.send(nodeId, 'ack', { callId, attempt });
      return;
    }
    await this.onFinal(nodeId, callId, attempt, {
      status: 'ERROR',
      error: { code: content.code, message: content.message },
      finishedAt: Date.now(),
    });
  }

  /** Writes a call's end if the report is for its current attempt, then acks it to the node. */
  private async onFinal(nodeId: string, callId: string, attempt: number, set: CallPatch): Promise<void> {
    const flight = this.inFlight.get(callId);
    if (flight && (flight.attempt !== attempt || flight.nodeId !== nodeId)) {
      this.opts.log.warn({ callId, attempt, nodeId, current: flight.attempt }, 'stale report dropped');
      this.channel.send(nodeId, 'ack', { callId, attempt });
      return;
    }
    let created: Call | undefined;
    if (flight) {
      // The node's container is free now: its next call need not wait for the DB write (the
      // call stays in flight, so a loss of the node before then still requeues it).
      if (this.nodes.get(nodeId)?.assigned.delete(callId)) this.pump();
      created = await flight.created.catch(() => undefined);
      if (!created) {
        // Never stored, so never accepted: the caller was told so; nothing to record.
        this.release(flight);
        this.channel.send(nodeId, 'ack', { callId, attempt });
        return;
      }
    }
    try {
      // Without an in-flight entry (an api restart) the DB's compare-and-set is the fence.
      const stored = this.opts.db.call('updateCall', {
        id: callId,
        expect: { status: UNFINISHED, attempt },
        set: { workerId: nodeId, ...set },
      });
      // This process owns the call's state and the write above is already on its way, so the
      // caller hears the end now; the DB answers any later read of the call after this write.
      const early = flight && created && this.inFlight.get(callId) === flight ? endedCall(created, flight, nodeId, set) : null;
      if (early) this.ended(early);
      const call = await stored;
      if (flight) this.release(flight);
      this.recovering.delete(callId);
      if (!early) this.ended(call);
    } catch (err) {
      if (!(err instanceof FerryError) || (err.code !== ErrorCode.CONFLICT && err.code !== ErrorCode.NOT_FOUND)) {
        // The DB did not answer: no ack, so the worker sends the result again.
        this.opts.log.warn({ err, callId }, 'result not stored yet; the worker will resend it');
        return;
      }
      this.stale(err, callId, 'final report');
    }
    this.channel.send(nodeId, 'ack', { callId, attempt });
  }

  // ── scheduling ─────────────────────────────────────────────────────────────────────────────

  /** Sends queued calls, in order, to nodes with room. */
  private pump(): void {
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      const node = this.nodes.place(`${next.fn.name}@${next.fn.version}`);
      if (!node) return;
      this.queue.shift();
      this.dispatch(next, node);
    }
  }

  private dispatch(q: Queued, node: NodeState): void {
    const flight: InFlight = { ...q, nodeId: node.nodeId };
    this.inFlight.set(q.callId, flight);
    node.assigned.add(q.callId);
    this.channel.send(node.nodeId, 'dispatch', {
      callId: q.callId,
      attempt: q.attempt,
      function: q.fn.name,
      version: q.fn.version,
      sha256: q.fn.sha256,
      size: q.fn.size,
      runtime: {
        name: q.runtime.name,
        image: q.runtime.image,
        path: q.runtime.path,
        dependencies: q.runtime.dependencies,
        run: q.runtime.run,
        protocol: q.runtime.protocol,
      },
      params: q.params,
      timeoutMs: q.fn.timeoutMs,
      memoryMb: q.fn.memoryMb,
    });
  }

  private release(flight: InFlight): void {
    if (this.inFlight.get(flight.callId) === flight) this.inFlight.delete(flight.callId);
    this.nodes.get(flight.nodeId)?.assigned.delete(flight.callId);
    this.progressWrittenAt.delete(flight.callId);
    this.pump();
  }

  /** Back to PENDING with attempt + 1 at the head of the queue, or ERROR once attempts run out. */
  private async requeue(q: Queued, why: string): Promise<void> {
    const next = q.attempt + 1;
    try {
      if (next > this.opts.config.maxAttempts) {
        const call = await this.opts.db.call('updateCall', {
          id: q.callId,
          expect: { status: UNFINISHED, attempt: q.attempt },
          set: {
            status: 'ERROR',
            error: { code: 'WORKER_LOST', message: `gave up after ${q.attempt} attempts; last: ${why}` },
            finishedAt: Date.now(),
          },
        });
        this.ended(call);
        return;
      }
      await this.opts.db.call('updateCall', {
        id: q.callId,
        expect: { status: UNFINISHED, attempt: q.attempt },
        set: { status: 'PENDING', attempt: next, workerId: null, startedAt: null },
      });
      this.opts.log.warn({ callId: q.callId, attempt: next, why }, 'call requeued');
      this.queue.unshift({ ...q, attempt: next });
      this.pump();
    } catch (err) {
      this.stale(err, q.callId, 'requeue');
    }
  }

  private tick(): void {
    for (const node of this.nodes.list()) this.channel.send(node.nodeId, 'heartbeat', {});
    for (const dead of this.nodes.expire()) {
      // Every call still in flight there, those whose end is reported but not yet stored included.
      const lost = [...this.inFlight.values()].filter((f) => f.nodeId === dead.nodeId);
      this.opts.log.error({ nodeId: dead.nodeId, calls: lost.length }, 'node lost');
      for (const flight of lost) {
        this.inFlight.delete(flight.callId);
        void this.requeue(flight, `node ${dead.nodeId} lost`);
      }
    }
    this.pump();
  }

  /** Unfinished calls from before a restart: claimed by a worker's hello, or requeued after a grace. */
  private async recover(): Promise<void> {
    for (const status of UNFINISHED) {
      let cursor: string | undefined;
      do {
        const page = await this.opts.db.call('listCalls', { status, limit: 1000, ...(cursor ? { cursor } : {}) });
        for (const call of page.calls) this.recovering.set(call.id, call);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
    }
    if (this.recovering.size === 0) return;
    this.opts.log.info({ calls: this.recovering.size }, 'carrying on unfinished calls');
    const graceMs = this.heartbeatMs * HEARTBEAT_LIVENESS + 500;
    this.recoveryTimer = setTimeout(() => void this.requeueUnclaimed(), graceMs);
  }

  private async requeueUnclaimed(): Promise<void> {
    // Oldest first, so calls keep their order in the queue.
    const calls = [...this.recovering.values()].sort((a, b) => a.callNum - b.callNum);
    this.recovering.clear();
    for (const call of calls) {
      try {
        const { fn, runtime } = await this.opts.catalog.resolve(`${call.funcName}@${call.version}`);
        const q: Queued = { callId: call.id, attempt: call.attempt, fn, runtime, params: call.params, created: Promise.resolve(call) };
        // Bumping the attempt fences off any run of the old attempt we did not hear about.
        await this.requeue(q, call.status === 'RUNNING' ? 'the api restarted while it ran' : 'the api restarted');
      } catch (err) {
        this.opts.log.error({ err, callId: call.id }, 'could not carry on a call');
      }
    }
  }

  private current(callId: string, attempt: number, nodeId: string): InFlight | undefined {
    const flight = this.inFlight.get(callId);
    if (flight && flight.attempt === attempt && flight.nodeId === nodeId) return flight;
    this.opts.log.warn({ callId, attempt, nodeId }, 'stale report dropped');
    return undefined;
  }

  private stale(err: unknown, callId: string, what: string): void {
    if (err instanceof FerryError && err.code === ErrorCode.CONFLICT) {
      this.opts.log.warn({ callId, what, reason: err.message }, 'stale report dropped');
    } else {
      this.opts.log.error({ err, callId, what }, 'call update failed');
    }
  }

  private ended(call: Call): void {
    const set = this.waiters.get(call.id);
    if (!set) return;
    for (const resolve of [...set]) resolve(call);
  }
}

/** False when the call's create failed: it was never accepted, so there is nothing to update. */
async function isStored(flight: Queued): Promise<boolean> {
  return flight.created.then(
    () => true,
    () => false,
  );
}

/** The ended call as the DB will hold it once `set` is written. */
function endedCall(created: Call, flight: InFlight, nodeId: string, set: CallPatch): Call {
  return {
    ...created,
    attempt: flight.attempt,
    workerId: nodeId,
    ...(flight.progress !== undefined ? { progress: flight.progress } : {}),
    ...(flight.metrics !== undefined ? { metrics: flight.metrics } : {}),
    ...set,
  } as Call;
}

function finishedPatch(content: WorkerToApiContent<'finished'>): CallPatch {
  return {
    status: content.status,
    result: content.result,
    error: content.error,
    logs: content.logs,
    startedAt: content.startedAt,
    finishedAt: Date.now(),
    timings: content.timings,
    ...(content.status === 'DONE' ? { progress: 1 } : {}),
  };
}
