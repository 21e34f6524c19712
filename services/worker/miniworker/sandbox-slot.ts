import type { SandboxLimits } from '../../../shared/config.js';
import { callLogger, type Logger } from '../../../shared/logger.js';
import { CallErrorCode, type CallTask } from '../call-task.js';
import { CappedOutput } from '../capped-output.js';
import { fitsRuntimeSandbox, runtimeKey, type Driver, type PreparedFunction, type RuntimeSpec, type Sandbox, type SandboxOptions } from '../drivers/driver.js';

const STARTED_AFTER_MS = 5;

/** What every slot of one miniworker shares: its driver, its settings, its way to the broker. */
export interface SlotHost {
  /** The miniworker's id: its sandboxes' owner, so that they go with it if it dies. */
  id: string;
  nodeId: string;
  driver: Driver;
  socketDir: string;
  outputCapBytes: number;
  sandbox: SandboxLimits;
  preload: 'none' | 'runtime' | 'function';
  keepAliveMs: number;
  log: Logger;
  /** Sends a message to the broker; the slot's index is added to its content. */
  send(msgType: string, content: Record<string, unknown>): void;
}

/**
 * One sandbox place in a miniworker: holds at most one sandbox (container) at a time and runs one
 * call at a time in it. Slots of one miniworker share nothing else, so a hung call or a slow
 * container start in one never holds up another: every wait here is asynchronous.
 */
export class SandboxSlot {
  private sandbox: Sandbox | null = null;
  private idleTimer: NodeJS.Timeout | undefined;
  private current: CallTask | null = null;
  /** A cancel named the current call: it must not start, even in a sandbox made after the cancel. */
  private cancelled = false;
  private warm: { fn: string | null; key: string } | null = null;
  /** The sandbox being made, if any (see {@link stop}). */
  private inCreation: Promise<Sandbox> | null = null;
  /** Removals under way: a stop waits for them, or the engine is left a container it half removed. */
  private readonly removing = new Set<Promise<void>>();
  private readonly log: Logger;

  constructor(
    private readonly host: SlotHost,
    readonly index: number,
  ) {
    this.log = host.log.child({ slot: index });
  }

  sayReady(): void {
    const kept = this.sandbox ? this.warm : null;
    this.send('ready', { warm: kept?.fn ?? null, key: kept?.key ?? null });
  }

  /** Runs `task`, unless a call runs here already (the broker then has lost count: it is refused). */
  take(task: CallTask, prepared: PreparedFunction): void {
    if (this.current) {
      callLogger(this.log, task).error('task received while busy; refused');
      this.send('failed', { callId: task.callId, attempt: task.attempt, code: 'BUSY', message: 'sandbox slot busy', retryable: true });
      return;
    }
    void this.runTask(task, prepared);
  }

  /** Ends the call if it is the current one: its sandbox is removed, which ends its run. */
  async cancel(callId: string, attempt: number): Promise<void> {
    if (this.current?.callId !== callId || this.current.attempt !== attempt) return;
    this.cancelled = true;
    await this.dropSandbox();
  }

  /**
   * Preload `runtime`: a sandbox of `runtime` waits, empty, for the first call of any of its
   * functions. An idle function sandbox held here gives way first (the broker chose it to).
   */
  async warmRuntime(runtime: RuntimeSpec): Promise<void> {
    if (this.sandbox && !this.current && this.sandbox.key !== runtimeKey(runtime)) {
      clearTimeout(this.idleTimer);
      this.log.info({ fn: this.warm?.fn, runtime: runtime.name }, 'idle sandbox gives way to an empty runtime sandbox');
      await this.dropSandbox().catch((err: unknown) => this.log.warn({ err }, 'could not remove an idle sandbox'));
    }
    if (!this.sandbox && !this.current) {
      try {
        this.sandbox = await this.creating(this.host.driver.createRuntimeSandbox(runtime, this.sandboxOptions(true)));
        this.warm = { fn: null, key: this.sandbox.key };
      } catch (err) {
        this.log.warn({ err, runtime: runtime.name }, 'could not warm a runtime sandbox');
      }
    }
    this.sayReady();
  }

  /** Removes the slot's sandbox, waiting for one still being made (it would be left behind once made). */
  async stop(): Promise<void> {
    clearTimeout(this.idleTimer);
    await this.inCreation?.catch(() => undefined);
    await this.dropSandbox().catch(() => undefined);
    await Promise.allSettled([...this.removing]);
  }

  private send(msgType: string, content: Record<string, unknown>): void {
    this.host.send(msgType, { slot: this.index, ...content });
  }

  private creating(made: Promise<Sandbox>): Promise<Sandbox> {
    this.inCreation = made;
    const settled = (): void => {
      if (this.inCreation === made) this.inCreation = null;
    };
    made.then(settled, settled);
    return made;
  }

  private sandboxOptions(reuse: boolean): SandboxOptions {
    const h = this.host;
    return { nodeId: h.nodeId, ownerId: h.id, socketDir: h.socketDir, outputCapBytes: h.outputCapBytes, limits: h.sandbox, reuse };
  }

  private async dropSandbox(): Promise<void> {
    const s = this.sandbox;
    this.sandbox = null;
    if (!s) return;
    const removed = s.destroy();
    this.removing.add(removed);
    try {
      await removed;
    } finally {
      this.removing.delete(removed);
    }
  }

  private async runTask(task: CallTask, prepared: PreparedFunction): Promise<void> {
    clearTimeout(this.idleTimer);
    this.current = task;
    this.cancelled = false;
    const ref = { callId: task.callId, attempt: task.attempt };
    const callLog = callLogger(this.log, task);
    try {
      const initStart = performance.now();
      const adoptable = this.sandbox?.alive && this.sandbox.key === runtimeKey(prepared.runtime) && fitsRuntimeSandbox(prepared, task);
      if (this.sandbox && !adoptable && (!this.sandbox.alive || this.sandbox.key !== prepared.key)) await this.dropSandbox();
      if (this.sandbox && adoptable) {
        await this.sandbox.adopt(prepared, task);
        const ms = Math.round(performance.now() - initStart);
        callLog.debug({ fn: prepared.warmKey, ms }, 'function moved into a warm runtime sandbox');
      }
      this.warm = { fn: prepared.warmKey, key: prepared.key };
      const reuse = this.host.preload !== 'none';
      const cold = this.sandbox === null || adoptable === true;
      if (this.sandbox) {
        callLog.debug({ fn: prepared.warmKey, attempt: task.attempt }, 'warm sandbox used');
      } else {
        this.sandbox = await this.creating(this.host.driver.createSandbox(prepared, task, this.sandboxOptions(reuse)));
        callLog.debug({ fn: prepared.warmKey, attempt: task.attempt, ms: Math.round(performance.now() - initStart) }, 'sandbox made');
      }
      if (this.cancelled) {
        // Cancelled while its sandbox was being made or taken over: the cancel found nothing to
        // remove then, so the call's sandbox goes now, before the call can start in it.
        callLog.info({ attempt: task.attempt }, 'call cancelled before it started');
        await this.dropSandbox();
        return;
      }
      const createMs = performance.now() - initStart;
      // A call that ends quickly needs no separate `started`: its `finished` says both. Only a call
      // still running after STARTED_AFTER_MS is reported started, keeping the warm path to one report.
      const startedAt = Date.now();
      const startedTimer = setTimeout(() => this.send('started', { ...ref, startedAt }), STARTED_AFTER_MS);
      callLog.debug({ attempt: task.attempt }, 'call started');
      // Lines the function logs go out live and are kept with the call's logs, capped like stdout.
      const logLines = new CappedOutput(this.host.outputCapBytes);
      // A cancel removes the sandbox while it runs: `this.sandbox` is null after.
      const ran = this.sandbox;
      const outcome = await ran.run(task, {
        progress: (progress) => this.send('progress', { ...ref, progress }),
        metrics: (metrics) => this.send('progress', { ...ref, metrics }),
        log: (line) => {
          logLines.push(Buffer.from(line.endsWith('\n') ? line : `${line}\n`));
          this.send('progress', { ...ref, log: line.slice(0, 64 * 1024) });
        },
      });
      const finishedAt = Date.now();
      clearTimeout(startedTimer);
      const logs = logLines.totalBytes > 0 ? { ...outcome.logs, log: logLines.text(), truncated: outcome.logs.truncated || logLines.truncated } : outcome.logs;
      const timings = { ...outcome.timings, initMs: outcome.timings.initMs + (cold ? createMs : 0) };
      this.send('finished', { ...ref, startedAt, finishedAt, outcome: { ...outcome, logs, timings } });
      callLog.debug({ attempt: task.attempt, status: outcome.status, runMs: outcome.timings.runMs }, 'call finished');
      if (this.sandbox === ran && (!reuse || !ran.alive)) await this.dropSandbox();
    } catch (err) {
      callLog.error({ err }, 'call could not run');
      const message = err instanceof Error ? err.message : String(err);
      this.send('failed', { ...ref, code: CallErrorCode.SANDBOX_FAILED, message: `the call's sandbox failed: ${message}`, retryable: true });
      await this.dropSandbox().catch(() => undefined);
    } finally {
      this.current = null;
      if (this.sandbox && this.host.keepAliveMs > 0) {
        this.idleTimer = setTimeout(() => {
          void this.dropSandbox().then(() => this.sayReady());
        }, this.host.keepAliveMs);
      }
      this.sayReady();
    }
  }
}
