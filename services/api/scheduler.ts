import { createHash } from 'node:crypto';
import type { DbClient } from '../../shared/clients/db-client.js';
import type { ApiConfig } from '../../shared/config.js';
import { ErrorCode, FerryError } from '../../shared/errors.js';
import { callLogger, type Logger } from '../../shared/logger.js';
import type { Refusals } from '../../shared/refusals.js';
import type { ServerCurve } from '../../shared/security/curve-server.js';
import { newCallId } from '../../shared/protocol/call-id.js';
import type { Call, FunctionVersion, Runtime } from '../../shared/protocol/domain.js';
import {
  HEARTBEAT_INTERVAL_MS,
  HEARTBEAT_LIVENESS,
  type WorkerToApi,
  type WorkerToApiContent,
} from '../../shared/protocol/worker-messages.js';
import type { CallEvent } from './calls/call-events.js';
import { CallLifecycle } from './calls/call-lifecycle.js';
import { IN_FLIGHT, isFinal } from './calls/transitions.js';
import { CallQueue } from './call-queue.js';
import { DelayedCalls } from './delayed-calls.js';
import type { CatalogCache } from './catalog-cache.js';
import { NodeRegistry, type NodeState } from './node-registry.js';
import type { SecretBox } from './secret-box.js';
import { WorkerChannel } from './worker-channel.js';

/** A call waiting for a node: what its dispatch needs. */
interface Queued {
  callId: string;
  attempt: number;
  fn: FunctionVersion;
  runtime: Runtime;
  params: unknown;
  /** The call's request id, sent with its dispatch and bound to its log lines (see {@link Scheduler.debug}). */
  requestId: string | undefined;
}

/** A call sent to a node that has not reported its end. */
interface InFlight {
  callId: string;
  attempt: number;
  nodeId: string;
}

export interface SchedulerOptions {
  config: ApiConfig;
  db: DbClient;
  catalog: CatalogCache;
  /** Opens a function's secrets for the dispatches of its calls. */
  secrets: SecretBox;
  log: Logger;
  /** Where messages refused on the worker socket are counted (the api's one counter). */
  refusals: Refusals;
  heartbeatMs?: number;
  /** CurveZMQ on the worker socket: the api's keys and the allowed worker keys; null: off. */
  curve: ServerCurve | null;
}

/**
 * Where and when calls run: a bounded FIFO queue, placement (a node with a warm container for
 * the call, else the least-loaded node with room) and node liveness (heartbeats, hellos). It
 * holds no call state: the {@link CallLifecycle} owns that, and this module tells it what it did
 * (dispatched, a node lost) and listens to its events (a call requeued, a call ended).
 */
export class Scheduler {
  readonly nodes: NodeRegistry;
  readonly calls: CallLifecycle;
  private readonly channel: WorkerChannel;
  private readonly queue = new CallQueue<Queued>();
  /** Calls waiting out a retry back-off before they join the queue. */
  private readonly delayed = new DelayedCalls<Queued>((q) => {
    this.queue.unshift(q);
    this.pump();
  });
  private readonly inFlight = new Map<string, InFlight>();
  /** Acks owed to each node, sent with its next dispatch or heartbeat (see {@link ack}). */
  private readonly acks = new Map<string, { callId: string; attempt: number }[]>();
  /** Unfinished calls found in the DB at start, until a worker claims them or the grace ends. */
  private readonly recovering = new Map<string, Call>();
  private timer: NodeJS.Timeout | undefined;
  private recoveryTimer: NodeJS.Timeout | undefined;
  /** Nodes that were connected when this api began to schedule and have not said hello to it since. */
  private readonly awaitingHello = new Set<string>();
  private readonly heartbeatMs: number;
  /**
   * The scheduling lease's epoch while this api schedules; 0 while it stands by (it keeps its
   * nodes' liveness but dispatches, adopts and writes nothing).
   */
  private epoch = 0;
  /** Whether the lease is fresh enough to dispatch under (see SchedulingLease.canSchedule). */
  private mayDispatch: () => boolean = () => true;

  constructor(private readonly opts: SchedulerOptions) {
    this.heartbeatMs = opts.heartbeatMs ?? HEARTBEAT_INTERVAL_MS;
    this.nodes = new NodeRegistry(this.heartbeatMs, opts.config.dispatchAhead);
    this.calls = new CallLifecycle({
      db: opts.db,
      log: opts.log.child({ module: 'call-lifecycle' }),
      maxAttempts: opts.config.maxAttempts,
      callWriteHoldMs: opts.config.callWriteHoldMs,
      policyOf: async (call) => {
        const { fn } = await opts.catalog.resolve(`${call.funcName}@${call.version}`);
        return { retry: fn.retry ?? null, stuckAfterMs: fn.stuckAfterMs ?? null };
      },
    });
    this.calls.events.subscribeAll((event) => this.onCallEvent(event));
    this.channel = new WorkerChannel({
      log: opts.log.child({ module: 'worker-channel' }),
      refusals: opts.refusals,
      curve: opts.curve,
      onMessage: (nodeId, msg) => this.onWorkerMessage(nodeId, msg),
      onRefused: (nodeId, why) => this.drop(nodeId, `node ${nodeId} refused: ${why}`),
    });
  }

  get queued(): number {
    return this.queue.length;
  }

  get running(): number {
    return this.inFlight.size;
  }

  /** Calls waiting out a retry back-off. */
  get backingOff(): number {
    return this.delayed.size;
  }

  /** Binds the workers' socket and keeps nodes' liveness; {@link activate} begins the scheduling. */
  async start(): Promise<string> {
    const endpoint = await this.channel.bind(this.opts.config.workersBind);
    this.timer = setInterval(() => this.tick(), this.heartbeatMs);
    return endpoint;
  }

  get isActive(): boolean {
    return this.epoch > 0;
  }

  /**
   * This api schedules from now on, under lease `epoch`: it takes over every unfinished call
   * from the store (as after a restart), tells every node it knows that it is the scheduler now
   * and asks each what it runs; calls no node claims are queued again once every node answered
   * (or a liveness period passed).
   */
  async activate(epoch: number, mayDispatch: () => boolean): Promise<void> {
    // Read first: a hello taken as the scheduler's must find the calls it may adopt.
    await this.recover();
    this.epoch = epoch;
    this.mayDispatch = mayDispatch;
    for (const node of this.nodes.list()) {
      this.awaitingHello.add(node.nodeId);
      this.channel.send(node.nodeId, 'leader', { epoch });
      this.channel.send(node.nodeId, 'reconnect', {});
    }
    this.pump();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.recoveryTimer);
    this.delayed.close();
    this.calls.close();
    this.channel.close();
  }

  /**
   * Accepts a call: checks the queue has room (QUEUE_FULL), resolves the function (NOT_FOUND),
   * stores the call PENDING (HELD with `hold`), and queues it. Resolves once the call is durable.
   * With `wait`, `ended` resolves with the finished call, or null if it has not ended within
   * min(wait.maxMs, the function's timeout + 5 s). With an `idempotencyKey` used before for this
   * function (within its lifetime) the first call is answered, `replayed`, and nothing runs.
   */
  async invoke(
    ref: string,
    params: unknown,
    options: {
      sessionId?: string;
      wait?: { maxMs: number };
      hold?: boolean;
      idempotencyKey?: string;
      /** A call of a group (it must exist), at its place in it from 1, under an id the group chose. */
      group?: { id: string; index: number; callId: string };
      /** An id the caller chose (a batch's combiner): creating it again answers the stored call. */
      callId?: string;
      /** The id of the API key it is made for (recorded on the call as `invokedBy`). */
      invokedBy?: string;
      /** The request id it is made under (recorded on the call, sent with its dispatches, on its log lines). */
      requestId?: string;
    } = {},
  ): Promise<{ call: Call; ended: Promise<Call | null> | null; replayed: boolean }> {
    if (!options.hold) this.checkRoom();
    const { fn, runtime } = await this.opts.catalog.resolve(ref);
    const callId = options.group?.callId ?? options.callId ?? newCallId();
    const queued: Queued = { callId, attempt: 1, fn, runtime, params: params ?? null, requestId: options.requestId };
    this.debug(queued, { fn: `${fn.name}@${fn.version}`, ...(options.group ? { groupId: options.group.id } : {}), ...(options.hold ? { hold: true } : {}) }, 'call accepted');
    const spec = {
      id: queued.callId,
      funcName: fn.name,
      version: fn.version,
      params: queued.params,
      ...(options.sessionId ? { sessionId: options.sessionId } : {}),
      ...(options.group ? { groupId: options.group.id, groupIndex: options.group.index } : {}),
      ...(options.hold ? { hold: true } : {}),
      ...(options.invokedBy ? { invokedBy: options.invokedBy } : {}),
      ...(options.requestId ? { requestId: options.requestId } : {}),
      ...(options.idempotencyKey
        ? { idempotency: { key: options.idempotencyKey, paramsHash: paramsHash(queued.params), ttlMs: this.opts.config.idempotencyTtlMs } }
        : {}),
    };
    if (options.hold) return { call: await this.calls.create(spec), ended: null, replayed: false };
    if (!options.wait || options.idempotencyKey) {
      // Accepted once durable, and only an accepted call runs (a keyed one may be a replay).
      const call = await this.calls.create(spec);
      if (call.replayed) return { call, ended: null, replayed: true };
      const ended = options.wait ? this.calls.waitForEnd(call.id, Math.min(options.wait.maxMs, fn.timeoutMs + 5_000)) : null;
      this.enqueue(queued);
      return { call, ended, replayed: false };
    }
    // A sync caller hears nothing until the end, so the call is dispatched before its create is
    // sent, and the create waits a few ms for the end to go with it (one write for the whole call
    // when it ends by then); its other reports wait for the create. If the create fails the caller
    // gets the error.
    const ended = this.calls.waitForEnd(queued.callId, Math.min(options.wait.maxMs, fn.timeoutMs + 5_000));
    // Not ended in the time the caller waits: stored now, so the 202 names a call that exists.
    void ended.then((call) => call ?? this.calls.storeNow(queued.callId));
    try {
      return { call: await this.calls.create(spec, () => this.enqueue(queued)), ended, replayed: false };
    } catch (err) {
      this.withdraw(queued.callId); // never stored, so never accepted
      throw err;
    }
  }

  /** Runs a HELD call (QUEUE_FULL when the queue has no room). */
  async dispatchHeld(callId: string): Promise<Call> {
    this.checkRoom();
    return this.calls.dispatchHeld(callId);
  }

  /** Throws QUEUE_FULL unless the queue has room for `calls` more (a run checks for all of its calls at once). */
  checkRoom(calls = 1): void {
    if (this.queue.length + calls > this.opts.config.queueMax) {
      throw new FerryError(ErrorCode.QUEUE_FULL, `every node is busy and ${this.queue.length} calls are already waiting`);
    }
  }

  // ── call events ────────────────────────────────────────────────────────────────────────────

  private onCallEvent(event: CallEvent): void {
    if (event.type !== 'status') return;
    const { call, from } = event;
    if (isFinal(call.status)) {
      if (this.opts.log.isLevelEnabled('debug')) callLogger(this.opts.log, { callId: call.id, requestId: call.requestId }).debug({ status: call.status, attempt: call.attempt }, 'call ended');
      this.withdraw(call.id);
    } else if (call.status === 'PENDING' && from !== null) {
      // Back to PENDING with a new attempt: first in the queue again.
      this.withdraw(call.id);
      void this.requeue(call);
    }
  }

  /** Into the queue again, first; after its back-off when it has one. */
  private async requeue(call: Call): Promise<void> {
    try {
      const { fn, runtime } = await this.opts.catalog.resolve(`${call.funcName}@${call.version}`);
      const requestId = call.requestId ?? undefined;
      const q: Queued = { callId: call.id, attempt: call.attempt, fn, runtime, params: call.params, requestId };
      this.debug(q, { attempt: call.attempt, ...(call.nextAttemptAt ? { nextAttemptAt: call.nextAttemptAt } : {}) }, 'call queued again');
      if (call.nextAttemptAt && call.nextAttemptAt > Date.now()) return this.delayed.add(call.nextAttemptAt, q);
      this.queue.unshift(q);
      this.pump();
    } catch (err) {
      this.opts.log.error({ err, callId: call.id }, 'could not requeue a call');
    }
  }

  // ── worker messages ────────────────────────────────────────────────────────────────────────

  private onWorkerMessage(nodeId: string, msg: WorkerToApi): void {
    if (msg.msgType === 'hello') {
      if (this.isActive) this.onHello(nodeId, msg.content);
      else this.nodes.hello(nodeId, msg.content);
      return;
    }
    if (!this.isActive) {
      // Standing by: liveness only. A node's reports go to the scheduling api (it resends its ends until one acks).
      if (!this.nodes.touch(nodeId)) this.channel.send(nodeId, 'reconnect', {});
      else if (msg.msgType === 'heartbeat') this.nodes.heartbeat(nodeId, msg.content);
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
        void this.calls.started(nodeId, msg.content);
        return;
      case 'progress':
        void this.calls.progress(nodeId, msg.content);
        return;
      case 'finished':
        this.freed(nodeId, msg.content);
        void this.calls.finished(nodeId, msg.content).then((ack) => this.ack(nodeId, msg.content, ack));
        return;
      case 'failed':
        this.freed(nodeId, msg.content);
        void this.calls.failed(nodeId, msg.content).then((ack) => this.ack(nodeId, msg.content, ack));
        return;
    }
  }

  private onHello(nodeId: string, content: WorkerToApiContent<'hello'>): void {
    const known = this.nodes.get(nodeId);
    const restarted = known !== undefined && known.incarnation !== content.incarnation;
    const node = this.nodes.hello(nodeId, content);
    this.opts.log.info({ nodeId, incarnation: content.incarnation, driver: content.driver, capacity: content.capacity, running: content.running.length }, 'node joined');
    const stillRunning = new Set(content.running.map((r) => `${r.callId}/${r.attempt}`));
    if (restarted) {
      // A new process on the node: what the old one held and the new one does not run is gone.
      const gone = [...this.inFlight.values()].filter((f) => f.nodeId === nodeId && !stillRunning.has(`${f.callId}/${f.attempt}`));
      if (gone.length > 0) this.opts.log.warn({ nodeId, calls: gone.length }, 'node restarted; its calls go on elsewhere');
      for (const flight of gone) this.lose(flight, `node ${nodeId} restarted`);
    }
    for (const { callId, attempt } of content.running) {
      const found = this.recovering.get(callId);
      if (!found || found.attempt !== attempt) continue;
      // A call the previous api process sent there: still running, so it is adopted, not re-sent.
      this.recovering.delete(callId);
      this.calls.adopt(found, nodeId);
      this.inFlight.set(callId, { callId, attempt, nodeId });
      node.assigned.add(callId);
    }
    for (const { callId, attempt } of content.running) {
      const flight = this.inFlight.get(callId);
      if (flight && flight.attempt === attempt && flight.nodeId === nodeId) continue;
      // A run the call has moved on from (it ended, or went to another attempt while the node
      // was silent): nothing it reports will count, so the node stops it and frees its container.
      this.opts.log.info({ nodeId, callId, attempt }, 'stale run stopped on its node');
      this.channel.send(nodeId, 'cancel', { callId, attempt });
    }
    this.channel.send(nodeId, 'leader', { epoch: this.epoch });
    if (this.awaitingHello.delete(nodeId) && this.awaitingHello.size === 0 && this.recoveryTimer !== undefined) {
      // Every node that was there has said what it runs: what none claimed goes on now.
      clearTimeout(this.recoveryTimer);
      this.recoveryTimer = undefined;
      void this.requeueUnclaimed();
    }
    this.pump();
  }

  /** A node's final report: its container is free for the next call before the end is stored. */
  private freed(nodeId: string, report: { callId: string; attempt: number }): void {
    const flight = this.inFlight.get(report.callId);
    if (flight && flight.nodeId === nodeId && flight.attempt === report.attempt && this.nodes.get(nodeId)?.assigned.delete(report.callId)) this.pump();
  }

  /**
   * A node keeps a final report and sends it again every few seconds until acked; the ack need
   * not go at once, so it waits for the next message to the node (a dispatch, at most a
   * heartbeat interval away) and leaves in the same batch: no message of its own per call.
   */
  private ack(nodeId: string, report: { callId: string; attempt: number }, ack: boolean): void {
    if (!ack) return;
    const owed = this.acks.get(nodeId);
    const one = { callId: report.callId, attempt: report.attempt };
    if (owed) owed.push(one);
    else this.acks.set(nodeId, [one]);
  }

  private sendAcks(nodeId: string): void {
    const owed = this.acks.get(nodeId);
    if (!owed) return;
    this.acks.delete(nodeId);
    for (const one of owed) this.channel.send(nodeId, 'ack', one);
  }

  // ── scheduling ─────────────────────────────────────────────────────────────────────────────

  /** A debug line about a call under its request id; the call's logger is made only when debug lines are written. */
  private debug(q: Queued, fields: Record<string, unknown>, msg: string): void {
    if (this.opts.log.isLevelEnabled('debug')) callLogger(this.opts.log, q).debug(fields, msg);
  }

  private enqueue(q: Queued): void {
    this.debug(q, {}, 'call queued');
    this.queue.push(q);
    this.pump();
  }

  /** Sends queued calls, in order, to nodes with room. */
  private pump(): void {
    if (!this.isActive || !this.mayDispatch()) return;
    for (let next = this.queue.peek(); next !== undefined; next = this.queue.peek()) {
      const node = this.nodes.place(`${next.fn.name}@${next.fn.version}`);
      if (!node) return;
      this.queue.shift();
      this.dispatch(next, node);
    }
  }

  private dispatch(q: Queued, node: NodeState): void {
    // Opened at the last moment, so the secrets in the clear live only in the message to the node.
    let secrets: Record<string, string>;
    try {
      secrets = this.opts.secrets.open(q.fn.name, q.fn.secrets);
    } catch (err) {
      this.secretsUnreadable(q, node, err);
      return;
    }
    this.inFlight.set(q.callId, { callId: q.callId, attempt: q.attempt, nodeId: node.nodeId });
    node.assigned.add(q.callId);
    this.calls.dispatched(q.callId, q.attempt, node.nodeId);
    this.debug(q, { nodeId: node.nodeId, attempt: q.attempt }, 'call dispatched');
    this.sendAcks(node.nodeId);
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
      env: q.fn.env ?? {},
      secrets,
      ...(q.requestId ? { requestId: q.requestId } : {}),
    });
  }

  /**
   * A call whose function's secrets this api cannot open (its key file lost or replaced) cannot
   * run anywhere: it ends ERROR `SECRETS_UNREADABLE` at once, as if its node had refused it, and
   * can be retried once the key is back.
   */
  private secretsUnreadable(q: Queued, node: NodeState, err: unknown): void {
    const message = `the api could not open the function's secrets: ${err instanceof Error ? err.message : String(err)}`;
    callLogger(this.opts.log, q).error({ fn: `${q.fn.name}@${q.fn.version}`, reason: message }, 'call not dispatched');
    this.calls.dispatched(q.callId, q.attempt, node.nodeId);
    void this.calls.failed(node.nodeId, { callId: q.callId, attempt: q.attempt, code: 'SECRETS_UNREADABLE', message, retryable: false });
  }

  /** Takes a call back: out of the queue, or its node told to stop it (once it has ended or moved on). */
  private withdraw(callId: string): void {
    this.queue.remove(callId);
    this.delayed.remove(callId);
    const flight = this.inFlight.get(callId);
    if (!flight) return;
    this.inFlight.delete(callId);
    const node = this.nodes.get(flight.nodeId);
    // Still counted on its node: the node has not reported it ended, so it may still run it.
    if (node?.assigned.delete(callId)) this.channel.send(flight.nodeId, 'cancel', { callId, attempt: flight.attempt });
    this.pump();
  }

  /** The call's node is gone: the lifecycle moves it on (its event requeues it here). */
  private lose(flight: InFlight, why: string): void {
    this.inFlight.delete(flight.callId);
    this.nodes.get(flight.nodeId)?.assigned.delete(flight.callId);
    void this.calls.lost(flight, flight.nodeId, why);
  }

  private tick(): void {
    for (const node of this.nodes.list()) {
      this.sendAcks(node.nodeId);
      this.channel.send(node.nodeId, 'heartbeat', {});
    }
    for (const dead of this.nodes.expire()) {
      if (this.isActive) this.loseNode(dead.nodeId, `node ${dead.nodeId} lost`);
      this.awaitingHello.delete(dead.nodeId);
    }
    this.pump();
  }

  /** A node the api no longer serves: lost at once, as one silent too long. */
  private drop(nodeId: string, why: string): void {
    if (!this.nodes.remove(nodeId)) return;
    this.loseNode(nodeId, why);
    this.pump();
  }

  private loseNode(nodeId: string, why: string): void {
    // Every call still in flight there, those whose end is reported but not yet stored included.
    // Its owed acks go with it: the node sends its reports again to whichever api it finds.
    this.acks.delete(nodeId);
    const lost = [...this.inFlight.values()].filter((f) => f.nodeId === nodeId);
    this.opts.log.error({ nodeId, calls: lost.length, why }, 'node lost');
    for (const flight of lost) this.lose(flight, why);
  }

  /** Unfinished calls from before a restart: claimed by a worker's hello, or requeued after a grace. */
  private async recover(): Promise<void> {
    for (const status of IN_FLIGHT) {
      let cursor: string | undefined;
      do {
        const page = await this.opts.db.call('listCalls', { status, limit: 1000, ...(cursor ? { cursor } : {}) });
        for (const call of page.calls) {
          this.recovering.set(call.id, call);
          this.calls.carry(call);
        }
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
    }
    if (this.recovering.size === 0) return;
    this.opts.log.info({ calls: this.recovering.size }, 'carrying on unfinished calls');
    const graceMs = this.heartbeatMs * HEARTBEAT_LIVENESS + 500;
    this.recoveryTimer = setTimeout(() => {
      this.recoveryTimer = undefined;
      void this.requeueUnclaimed();
    }, graceMs);
  }

  private async requeueUnclaimed(): Promise<void> {
    // Oldest first, so calls keep their order in the queue.
    const calls = [...this.recovering.values()].sort((a, b) => a.callNum - b.callNum);
    this.recovering.clear();
    for (const call of calls) {
      if (call.status === 'PENDING' && !call.executions?.some((e) => e.attempt === call.attempt)) {
        // Not sent anywhere as far as the store knows (queued, or waiting out a back-off): queued again as it is.
        await this.requeue(call);
        continue;
      }
      // Moving the attempt on fences off any run of the old attempt we did not hear about.
      await this.calls.lost({ callId: call.id, attempt: call.attempt }, call.workerId, call.status === 'RUNNING' ? 'the api restarted while it ran' : 'the api restarted');
    }
  }
}

/** Same params, same hash: what an idempotency key compares. */
function paramsHash(params: unknown): string {
  return createHash('sha256').update(JSON.stringify(params ?? null)).digest('hex');
}
