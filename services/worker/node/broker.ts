import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nanoid } from 'nanoid';
import { Router } from 'zeromq';
import type { DelayRangeMs, PreloadPolicy, SandboxLimits } from '../../../shared/config.js';
import type { Logger } from '../../../shared/logger.js';
import { decodeEvent, encodeEvent } from '../../../shared/protocol/envelope.js';
import type { WarmContainer, WorkerToApi } from '../../../shared/protocol/worker-messages.js';
import { Outbox } from '../../../shared/transport/outbox.js';
import { unbatchOrLog } from '../../../shared/transport/unbatch-or-log.js';
import { miniworkerToBrokerSchemas } from '../broker-messages.js';
import { CallErrorCode, type CallTask } from '../call-task.js';
import { SandboxCosts } from './sandbox-costs.js';
import { fitsRuntimeSandbox, runtimeKey, type Driver, type PreparedFunction, type RuntimeSpec } from '../drivers/driver.js';

const WARM_RETRY_MS = 30_000;
/**
 * How long a function's sandbox must have idled before it may give way to an empty runtime
 * sandbox: a node under load would otherwise trade containers back and forth between calls.
 */
const YIELD_TO_RUNTIME_AFTER_IDLE_MS = 1_000;
const miniworkerScript = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'miniworker', 'main.js');

export interface BrokerOptions {
  nodeId: string;
  /** Folder for the broker's ipc socket and agent sockets. */
  dir: string;
  /** Sandbox slots on the node (FERRY_MAX_CONTAINERS). */
  size: number;
  /** Most slots one miniworker process hosts. */
  slotsPerMiniworker: number;
  memoryMb: number;
  driver: Driver;
  /** Fake driver only: each call's delay (its miniworkers make their own driver from it). */
  fakeDelay: DelayRangeMs;
  preload: PreloadPolicy;
  keepAliveMs: number;
  outputCapBytes: number;
  sandbox: SandboxLimits;
  log: Logger;
  /** Reports for the api (started, progress, finished, failed). */
  report: (msg: WorkerToApi) => void;
  /** A runtime ran here for the first time (to remember across restarts). */
  onRuntimesChanged?: (runtimes: RuntimeSpec[]) => void;
}

interface Queued {
  task: CallTask;
  prepared: PreparedFunction;
  receivedAt: number;
  /** Bound to the call's request id and call id. */
  log: Logger;
}

/** A miniworker process and the sandbox slots it hosts. */
interface Miniworker {
  id: string;
  proc: ChildProcess;
  slots: Slot[];
}

/** One sandbox place in a miniworker: one sandbox at a time, one call at a time in it. */
interface Slot {
  /** `<miniworker id>/<index>`, for logs. */
  id: string;
  host: Miniworker;
  index: number;
  /** It has said ready once: until then a warm sandbox elsewhere is not given up for a start (this slot is coming). */
  up: boolean;
  /** Ready for a task. */
  idle: boolean;
  warm: string | null;
  /** Sandbox identity ({@link PreparedFunction.key}) of its warm sandbox. */
  key: string | null;
  /** The runtime key it was asked to warm, until its next ready. */
  warming: string | null;
  /** Runtime of the function its sandbox is warm for. */
  runtime: string;
  lastUsed: number;
  /** When it last said ready. */
  idleSince: number;
  task: Queued | null;
}

/**
 * The node's broker: a ROUTER on ipc:// that hands calls to the sandbox slots of a few miniworker
 * processes (each hosting up to `slotsPerMiniworker`), one call per slot at a time, preferring a
 * slot whose sandbox is already warm for the call's function. A miniworker that dies is noticed
 * at once (its process exits): the calls of its slots are reported failed and retryable, its
 * containers removed, and a new miniworker takes its place, while the others go on serving.
 */
export class Broker {
  private readonly sock = new Router({ linger: 0 });
  private readonly outbox = new Outbox((frames) => this.sock.send(frames), { routed: true });
  private readonly miniworkers = new Map<string, Miniworker>();
  /** Every slot of every live miniworker. */
  private readonly workers = new Map<string, Slot>();
  private readonly queue: Queued[] = [];
  private memoryInUseMb = 0;
  private readonly costs = new SandboxCosts();
  /** Runtimes this node has run (preload `runtime` keeps one empty sandbox of each warm). */
  private readonly knownRuntimes = new Map<string, RuntimeSpec>();
  /** When warming a runtime last failed: it is not retried for a while (a missing image stays missing). */
  private readonly warmFailedAt = new Map<string, number>();
  private state: 'new' | 'running' | 'stopping' = 'new';
  private endpoint = '';
  /** A later look at the queue (a sandbox idle long enough to give way, a call waiting for a busy one). */
  private recheck: { timer: NodeJS.Timeout; at: number } | undefined;
  /** What the api was last told about warm sandboxes (see {@link announceWarm}). */
  private announcedWarm = '';

  constructor(private readonly opts: BrokerOptions) {}

  async start(): Promise<void> {
    // The broker's link never leaves the host, so it goes without CurveZMQ: the socket lives in a
    // folder only this user may enter (0700), so no other local user can connect to it.
    const dir = path.join(this.opts.dir, 'broker');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    this.endpoint = `ipc://${path.join(dir, 'broker.ipc')}`;
    await this.sock.bind(this.endpoint);
    this.state = 'running';
    void this.receiveLoop().catch((err: unknown) => {
      if (this.state === 'running') this.opts.log.error({ err }, 'broker loop failed');
    });
    this.grow();
  }

  /** Queues a prepared call; it runs as soon as a miniworker and memory are free. `log`: the call's own. */
  submit(task: CallTask, prepared: PreparedFunction, receivedAt: number, log: Logger): void {
    const rtKey = runtimeKey(prepared.runtime);
    if (!this.knownRuntimes.has(rtKey)) {
      this.knownRuntimes.set(rtKey, prepared.runtime);
      this.opts.onRuntimesChanged?.(this.runtimes);
    }
    this.queue.push({ task, prepared, receivedAt, log });
    this.assign();
  }

  /** Runtimes to keep warm from the start (remembered from an earlier run). */
  rememberRuntimes(runtimes: RuntimeSpec[]): void {
    for (const rt of runtimes) this.knownRuntimes.set(runtimeKey(rt), rt);
    this.assign();
  }

  get runtimes(): RuntimeSpec[] {
    return [...this.knownRuntimes.values()];
  }

  /** Calls running or queued here, for a reconnecting hello. */
  activeCalls(): { callId: string; attempt: number }[] {
    const running = [...this.workers.values()].flatMap((w) => (w.task ? [w.task] : []));
    return [...running, ...this.queue].map((q) => ({ callId: q.task.callId, attempt: q.task.attempt }));
  }

  has(callId: string, attempt: number): boolean {
    return this.activeCalls().some((c) => c.callId === callId && c.attempt === attempt);
  }

  get running(): number {
    return [...this.workers.values()].filter((w) => w.task !== null).length;
  }

  warmContainers(): WarmContainer[] {
    return [...this.workers.values()]
      .filter((w) => w.key !== null)
      .map((w) => ({ runtime: w.runtime, fn: w.warm, busy: w.task !== null }));
  }

  cancel(callId: string, attempt: number): void {
    const queuedAt = this.queue.findIndex((q) => q.task.callId === callId && q.task.attempt === attempt);
    if (queuedAt >= 0) {
      this.queue.splice(queuedAt, 1);
      return;
    }
    for (const w of this.workers.values()) {
      if (w.task?.task.callId === callId && w.task.task.attempt === attempt) this.send(w, 'cancel', { callId, attempt });
    }
  }

  async close(): Promise<void> {
    if (this.state === 'stopping') return;
    this.state = 'stopping';
    clearTimeout(this.recheck?.timer);
    const exits = [...this.miniworkers.values()].map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.proc.exitCode !== null || w.proc.signalCode !== null) return resolve();
          w.proc.once('exit', () => resolve());
          w.proc.kill('SIGTERM');
          setTimeout(() => w.proc.kill('SIGKILL'), 10_000).unref();
        }),
    );
    await Promise.all(exits);
    await this.opts.driver.removeLeftovers(this.opts.nodeId).catch(() => 0);
    this.sock.close();
  }

  private spawnMiniworker(slots: number): void {
    const id = `mw-${nanoid(8)}`;
    const settings = {
      slots,
      nodeId: this.opts.nodeId,
      driver: this.opts.driver.kind,
      fakeDelay: this.opts.fakeDelay,
      socketDir: path.join(this.opts.dir, 'sock'),
      outputCapBytes: this.opts.outputCapBytes,
      sandbox: this.opts.sandbox,
      preload: this.opts.preload,
      keepAliveMs: this.opts.keepAliveMs,
      dir: this.opts.dir,
    };
    const proc = spawn(process.execPath, [miniworkerScript], {
      env: {
        ...process.env,
        FERRY_MINIWORKER_ID: id,
        FERRY_BROKER_ADDR: this.endpoint,
        FERRY_MINIWORKER_SETTINGS: JSON.stringify(settings),
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const mw: Miniworker = { id, proc, slots: [] };
    for (let index = 0; index < slots; index++) {
      const slot: Slot = { id: `${id}/${index}`, host: mw, index, up: false, idle: false, warm: null, key: null, warming: null, runtime: '', lastUsed: 0, idleSince: 0, task: null };
      mw.slots.push(slot);
      this.workers.set(slot.id, slot);
    }
    this.miniworkers.set(id, mw);
    proc.once('exit', (code, signal) => void this.onExit(mw, code, signal));
  }

  private async onExit(mw: Miniworker, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    this.miniworkers.delete(mw.id);
    for (const slot of mw.slots) this.workers.delete(slot.id);
    if (this.state === 'stopping') return;
    const lost = mw.slots.flatMap((w) => (w.task ? [w.task] : []));
    this.opts.log.error({ miniworker: mw.id, code, signal, calls: lost.length }, 'miniworker died');
    for (const task of lost) {
      task.log.warn({ miniworker: mw.id }, 'call failed: the miniworker running it died');
      this.release(task);
      this.opts.report({
        msgType: 'failed',
        content: {
          callId: task.task.callId,
          attempt: task.task.attempt,
          code: CallErrorCode.MINIWORKER_DIED,
          message: `the process running the call died (${signal ?? `exit ${code}`})`,
          retryable: true,
        },
      });
    }
    // Its slots' warm sandboxes are gone from the api's view at once, not at the next heartbeat.
    this.announceWarm();
    const removed = await this.opts.driver.removeLeftovers(this.opts.nodeId, mw.id).catch(() => 0);
    if (removed > 0) this.opts.log.info({ miniworker: mw.id, removed }, 'removed a dead miniworker\'s containers');
    if (this.state === 'running') this.assign();
  }

  private async receiveLoop(): Promise<void> {
    for await (const [identity, ...frames] of this.sock) {
      const mw = identity ? this.miniworkers.get(identity.toString()) : undefined;
      if (!mw) continue;
      for (const message of unbatchOrLog(frames, this.opts.log)) {
        try {
          this.onMessage(mw, message);
        } catch (err) {
          this.opts.log.warn({ err, miniworker: mw.id }, 'bad message from miniworker dropped');
        }
      }
    }
  }

  private onMessage(mw: Miniworker, frames: Buffer[]): void {
    const msg = decodeEvent(frames, miniworkerToBrokerSchemas);
    const w = mw.slots[msg.content.slot];
    if (!w) throw new Error(`no slot ${msg.content.slot}`);
    switch (msg.msgType) {
      case 'ready':
        w.up = true;
        w.idle = true;
        w.idleSince = Date.now();
        w.warm = msg.content.warm;
        w.key = msg.content.key;
        if (w.warming !== null && w.key !== w.warming) this.warmFailedAt.set(w.warming, Date.now());
        w.warming = null;
        if (w.task) {
          this.release(w.task);
          w.task = null;
        }
        this.assign();
        return;
      case 'started':
        w.task?.log.debug({ slot: w.id }, 'call started; reported');
        this.opts.report({ msgType: 'started', content: withoutSlot(msg.content) });
        return;
      case 'progress':
        this.opts.report({ msgType: 'progress', content: withoutSlot(msg.content) });
        return;
      case 'finished': {
        const { outcome } = msg.content;
        const queuedMs = w.task ? Math.max(0, w.lastUsed - w.task.receivedAt) : 0;
        if (w.task) this.costs.record(w.task.prepared.key, outcome.timings.runMs, outcome.timings.initMs);
        w.task?.log.debug({ slot: w.id, status: outcome.status }, 'call finished; reported');
        this.opts.report({ msgType: 'finished', content: { ...withoutSlot(msg.content), outcome: { ...outcome, timings: { ...outcome.timings, queuedMs } } } });
        return;
      }
      case 'failed':
        w.task?.log.debug({ slot: w.id, code: msg.content.code }, 'call failed to run; reported');
        this.opts.report({ msgType: 'failed', content: withoutSlot(msg.content) });
        return;
    }
  }

  /**
   * Hands queued calls to idle miniworkers, in order per function: a sandbox warm for the function
   * first, else a start elsewhere ({@link startPick}) unless one of its busy sandboxes will serve
   * it sooner, in which case calls of other functions behind it may go first.
   */
  private assign(): void {
    const workers = [...this.workers.values()];
    // Calls of each function left waiting in this pass for one of its busy sandboxes.
    const waiting = new Map<string, number>();
    for (let i = 0; i < this.queue.length; ) {
      const next = this.queue[i]!;
      if (this.memoryInUseMb > 0 && this.memoryInUseMb + next.task.memoryMb > this.opts.memoryMb) break;
      const idle = workers.filter((w) => w.idle);
      if (idle.length === 0) break;
      const key = next.prepared.key;
      const pick = idle.find((w) => w.key === key) ?? this.startPick(next, idle, workers, (waiting.get(key) ?? 0) + 1);
      if (!pick) {
        // Sooner on one of its own busy sandboxes: later calls of other functions go first.
        waiting.set(key, (waiting.get(key) ?? 0) + 1);
        i += 1;
        continue;
      }
      this.queue.splice(i, 1);
      pick.idle = false;
      pick.task = next;
      pick.runtime = next.prepared.runtime.name;
      pick.lastUsed = Date.now();
      this.memoryInUseMb += next.task.memoryMb;
      next.log.debug({ slot: pick.id, warm: pick.key === key }, 'call handed to a miniworker');
      this.send(pick, 'task', { task: next.task, prepared: next.prepared, queuedMs: pick.lastUsed - next.receivedAt });
    }
    if (this.costs.backlogged) this.costs.settle(new Set(this.queue.map((q) => q.prepared.key)));
    // Nothing else may wake the broker (a call that hangs frees nothing): look again once a start
    // would have been sooner, when a waiting call goes to a new sandbox.
    if (waiting.size > 0) this.assignIn(this.costs.startEstimateMs + 1);
    if (this.opts.preload === 'runtime') this.warmRuntimes();
    this.grow();
    this.announceWarm();
  }

  /**
   * Starts another miniworker once every slot holds a sandbox or a call, until the node has
   * `size` slots: a node with few warm containers runs one or two processes, not one per slot it
   * may ever use, and the next start finds an empty slot instead of evicting a warm sandbox.
   */
  private grow(): void {
    if (this.state !== 'running' || this.workers.size >= this.opts.size) return;
    if ([...this.workers.values()].some((w) => w.key === null && w.task === null && w.warming === null)) return;
    this.spawnMiniworker(Math.min(this.opts.slotsPerMiniworker, this.opts.size - this.workers.size));
  }

  /**
   * Where a call with no idle warm sandbox starts: an empty sandbox of its runtime, else one
   * holding nothing, else the least recently used (a function's sandbox before another runtime's
   * empty one) — or nowhere yet, when one of its busy sandboxes will be free sooner than a start.
   */
  private startPick(next: Queued, idle: Slot[], workers: Slot[], position: number): Slot | undefined {
    const busy = workers.filter((w) => w.task?.prepared.key === next.prepared.key).length;
    if (this.costs.shouldWait(next.prepared.key, busy, position)) return undefined;
    const fresh =
      (fitsRuntimeSandbox(next.prepared, next.task) ? idle.find((w) => w.key === runtimeKey(next.prepared.runtime)) : undefined) ??
      idle.find((w) => w.key === null);
    // A miniworker starting, or one {@link grow} may still add, brings empty slots: wait for them
    // rather than evict a warm sandbox.
    if (fresh || workers.length < this.opts.size || workers.some((w) => !w.up)) return fresh;
    return (
      leastRecentlyUsed(idle.filter((w) => !this.holdsEmptyRuntime(w))) ??
      leastRecentlyUsed(idle)
    );
  }

  /**
   * Tells the api at once, not at the next heartbeat (up to a second later), when an empty
   * runtime sandbox is taken or ready, or a function's sandbox comes or goes: it places calls by
   * warm sandboxes, and a never-seen function sent on a stale view would start a container cold.
   * Busy flags are left to the heartbeat, so a node under steady load sends nothing more.
   */
  private announceWarm(): void {
    const workers = [...this.workers.values()];
    const empties = workers.filter((w) => w.idle && this.holdsEmptyRuntime(w)).map((w) => w.runtime);
    const fns = workers.flatMap((w) => (w.key !== null && w.warm !== null ? [w.warm] : []));
    const view = JSON.stringify([empties.sort(), fns.sort()]);
    if (view === this.announcedWarm) return;
    this.announcedWarm = view;
    this.opts.report({ msgType: 'heartbeat', content: { running: this.running, warm: this.warmContainers() } });
  }

  /**
   * Gives each known runtime one empty warm sandbox: on a miniworker holding nothing, else in
   * place of an idle function sandbox (see {@link yieldingWorker}), so that a function moving in
   * is followed by a new empty sandbox and the next never-seen function is fast too.
   */
  private warmRuntimes(): void {
    for (const [key, runtime] of this.knownRuntimes) {
      const workers = [...this.workers.values()];
      if (workers.some((w) => w.key === key || w.warming === key)) continue;
      if (Date.now() - (this.warmFailedAt.get(key) ?? 0) < WARM_RETRY_MS) continue;
      const host = workers.find((w) => w.idle && w.key === null) ?? this.yieldingWorker(workers);
      if (!host) return;
      host.idle = false;
      host.warming = key;
      host.runtime = runtime.name;
      this.send(host, 'warm', { runtime });
    }
  }

  /**
   * The idle function sandbox that gives way to an empty runtime sandbox: the least recently used
   * one that has idled {@link YIELD_TO_RUNTIME_AFTER_IDLE_MS}, on a node with no call waiting, and
   * never the last miniworker left for functions. When one will be old enough later, looks again then.
   */
  private yieldingWorker(workers: Slot[]): Slot | undefined {
    if (this.queue.length > 0) return undefined;
    const empties = workers.filter((w) => w.warming !== null || this.holdsEmptyRuntime(w)).length;
    if (empties + 1 >= workers.length) return undefined;
    const now = Date.now();
    const held = workers.filter((w) => w.idle && w.key !== null && !this.holdsEmptyRuntime(w)).sort((a, b) => a.lastUsed - b.lastUsed);
    const ripe = held.find((w) => now - w.idleSince >= YIELD_TO_RUNTIME_AFTER_IDLE_MS);
    if (ripe || held.length === 0) return ripe;
    this.assignIn(Math.min(...held.map((w) => w.idleSince + YIELD_TO_RUNTIME_AFTER_IDLE_MS - now)));
    return undefined;
  }

  /** Runs {@link assign} again in `delayMs`, or sooner if another look is already due sooner. */
  private assignIn(delayMs: number): void {
    const at = Date.now() + delayMs;
    if (this.recheck && this.recheck.at <= at) return;
    clearTimeout(this.recheck?.timer);
    const timer = setTimeout(() => {
      this.recheck = undefined;
      if (this.state === 'running') this.assign();
    }, Math.max(1, delayMs));
    timer.unref();
    this.recheck = { timer, at };
  }

  private holdsEmptyRuntime(w: Slot): boolean {
    return w.key !== null && this.knownRuntimes.has(w.key);
  }

  private release(q: Queued): void {
    this.memoryInUseMb = Math.max(0, this.memoryInUseMb - q.task.memoryMb);
  }

  private send(slot: Slot, msgType: string, content: Record<string, unknown>): void {
    this.outbox.send([Buffer.from(slot.host.id), ...encodeEvent(msgType, { slot: slot.index, ...content })]).catch((err: unknown) => {
      this.opts.log.error({ err, miniworker: slot.host.id }, 'send to miniworker failed');
    });
  }
}

/** A slot's report as the api hears it: of the call, not of the slot it ran in. */
function withoutSlot<T extends { slot: number }>(content: T): Omit<T, 'slot'> {
  const { slot: _slot, ...rest } = content;
  return rest;
}

function leastRecentlyUsed(workers: Slot[]): Slot | undefined {
  return [...workers].sort((a, b) => a.lastUsed - b.lastUsed)[0];
}
