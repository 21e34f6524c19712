import { Dealer } from 'zeromq';
import type { SandboxLimits } from '../../../shared/config.js';
import { callLogger, rootLogger, setLoggerName } from '../../../shared/logger.js';
import { decodeEvent, encodeEvent } from '../../../shared/protocol/envelope.js';
import type { DriverKind } from '../../../shared/protocol/worker-messages.js';
import { Outbox } from '../../../shared/transport/outbox.js';
import { unbatchOrLog } from '../../../shared/transport/unbatch-or-log.js';
import { brokerToMiniworkerSchemas } from '../broker-messages.js';
import { CallErrorCode, type CallTask } from '../call-task.js';
import { CappedOutput } from '../capped-output.js';
import { createDriver, type DriverSettings } from '../drivers/create-driver.js';
import { fitsRuntimeSandbox, runtimeKey, type PreparedFunction, type RuntimeSpec, type Sandbox, type SandboxOptions } from '../drivers/driver.js';

/**
 * A miniworker process: owns at most one sandbox (container) at a time and runs one call at a
 * time in it, so a slow container start or a hung function never blocks the node's daemon.
 * Configured by its broker through env (FERRY_MINIWORKER_*).
 */
setLoggerName('miniworker');
const STARTED_AFTER_MS = 5;
const env = process.env;
const id = env['FERRY_MINIWORKER_ID'] ?? 'mw';
const log = rootLogger().child({ miniworker: id });
const settings = JSON.parse(env['FERRY_MINIWORKER_SETTINGS'] ?? '{}') as DriverSettings & {
  driver: DriverKind;
  socketDir: string;
  outputCapBytes: number;
  sandbox: SandboxLimits;
  preload: 'none' | 'runtime' | 'function';
  keepAliveMs: number;
};

const sock = new Dealer({ routingId: id, linger: 1000 });
sock.connect(env['FERRY_BROKER_ADDR'] ?? '');
const outbox = new Outbox((frames) => sock.send(frames));
const send = (msgType: string, content: unknown): void => {
  outbox.send(encodeEvent(msgType, content)).catch((err: unknown) => log.error({ err }, 'send to broker failed'));
};

const driver = await createDriver(settings.driver, settings, log);
let sandbox: Sandbox | null = null;
let idleTimer: NodeJS.Timeout | undefined;
let current = null as CallTask | null;
/** A cancel named the current call: it must not start, even in a sandbox made after the cancel. */
let cancelled = false;
let warm: { fn: string | null; key: string } | null = null;

/** The sandbox being made, if any (see stop()). */
let inCreation: Promise<Sandbox> | null = null;
function creating(made: Promise<Sandbox>): Promise<Sandbox> {
  inCreation = made;
  const settled = (): void => {
    if (inCreation === made) inCreation = null;
  };
  made.then(settled, settled);
  return made;
}

const sandboxOptions = (reuse: boolean): SandboxOptions => ({
  nodeId: settings.nodeId,
  ownerId: id,
  socketDir: settings.socketDir,
  outputCapBytes: settings.outputCapBytes,
  limits: settings.sandbox,
  reuse,
});

function sayReady(): void {
  send('ready', { warm: sandbox && warm ? warm.fn : null, key: sandbox && warm ? warm.key : null });
}

/** Removals under way: a stop waits for them, or the engine is left a container it half removed. */
const removing = new Set<Promise<void>>();

async function dropSandbox(): Promise<void> {
  const s = sandbox;
  sandbox = null;
  if (!s) return;
  const removed = s.destroy();
  removing.add(removed);
  try {
    await removed;
  } finally {
    removing.delete(removed);
  }
}

async function runTask(task: CallTask, prepared: PreparedFunction): Promise<void> {
  clearTimeout(idleTimer);
  current = task;
  cancelled = false;
  const ref = { callId: task.callId, attempt: task.attempt };
  const callLog = callLogger(log, task);
  try {
    const initStart = performance.now();
    const adoptable = sandbox?.alive && sandbox.key === runtimeKey(prepared.runtime) && fitsRuntimeSandbox(prepared, task);
    if (sandbox && !adoptable && (!sandbox.alive || sandbox.key !== prepared.key)) await dropSandbox();
    if (sandbox && adoptable) {
      await sandbox.adopt(prepared, task);
      const ms = Math.round(performance.now() - initStart);
      callLog.debug({ fn: prepared.warmKey, ms }, 'function moved into a warm runtime sandbox');
    }
    warm = { fn: prepared.warmKey, key: prepared.key };
    const reuse = settings.preload !== 'none';
    const cold = sandbox === null || adoptable === true;
    if (sandbox) {
      callLog.debug({ fn: prepared.warmKey, attempt: task.attempt }, 'warm sandbox used');
    } else {
      sandbox = await creating(driver.createSandbox(prepared, task, sandboxOptions(reuse)));
      callLog.debug({ fn: prepared.warmKey, attempt: task.attempt, ms: Math.round(performance.now() - initStart) }, 'sandbox made');
    }
    if (cancelled) {
      // Cancelled while its sandbox was being made or taken over: the cancel found nothing to
      // remove then, so the call's sandbox goes now, before the call can start in it.
      callLog.info({ attempt: task.attempt }, 'call cancelled before it started');
      await dropSandbox();
      return;
    }
    const createMs = performance.now() - initStart;
    // A call that ends quickly needs no separate `started`: its `finished` says both. Only a call
    // still running after STARTED_AFTER_MS is reported started, keeping the warm path to one report.
    const startedAt = Date.now();
    const startedTimer = setTimeout(() => send('started', { ...ref, startedAt }), STARTED_AFTER_MS);
    callLog.debug({ attempt: task.attempt }, 'call started');
    // Lines the function logs go out live and are kept with the call's logs, capped like stdout.
    const logLines = new CappedOutput(settings.outputCapBytes);
    // A cancel removes the sandbox while it runs (see onBrokerMessage): `sandbox` is null after.
    const ran = sandbox;
    const outcome = await ran.run(task, {
      progress: (progress) => send('progress', { ...ref, progress }),
      metrics: (metrics) => send('progress', { ...ref, metrics }),
      log: (line) => {
        logLines.push(Buffer.from(line.endsWith('\n') ? line : `${line}\n`));
        send('progress', { ...ref, log: line.slice(0, 64 * 1024) });
      },
    });
    const finishedAt = Date.now();
    clearTimeout(startedTimer);
    const logs = logLines.totalBytes > 0 ? { ...outcome.logs, log: logLines.text(), truncated: outcome.logs.truncated || logLines.truncated } : outcome.logs;
    const timings = { ...outcome.timings, initMs: outcome.timings.initMs + (cold ? createMs : 0) };
    send('finished', { ...ref, startedAt, finishedAt, outcome: { ...outcome, logs, timings } });
    callLog.debug({ attempt: task.attempt, status: outcome.status, runMs: outcome.timings.runMs }, 'call finished');
    if (sandbox === ran && (!reuse || !ran.alive)) await dropSandbox();
  } catch (err) {
    callLog.error({ err }, 'call could not run');
    const message = err instanceof Error ? err.message : String(err);
    send('failed', { ...ref, code: CallErrorCode.SANDBOX_FAILED, message: `the call's sandbox failed: ${message}`, retryable: true });
    await dropSandbox().catch(() => undefined);
  } finally {
    current = null;
    if (sandbox && settings.keepAliveMs > 0) {
      idleTimer = setTimeout(() => {
        void dropSandbox().then(sayReady);
      }, settings.keepAliveMs);
    }
    sayReady();
  }
}

/**
 * Preload `runtime`: a sandbox of `runtime` waits, empty, for the first call of any of its
 * functions. An idle function sandbox held here gives way first (the broker chose it to).
 */
async function warmRuntime(runtime: RuntimeSpec): Promise<void> {
  if (sandbox && !current && sandbox.key !== runtimeKey(runtime)) {
    clearTimeout(idleTimer);
    log.info({ fn: warm?.fn, runtime: runtime.name }, 'idle sandbox gives way to an empty runtime sandbox');
    await dropSandbox().catch((err: unknown) => log.warn({ err }, 'could not remove an idle sandbox'));
  }
  if (!sandbox && !current) {
    try {
      sandbox = await creating(driver.createRuntimeSandbox(runtime, sandboxOptions(true)));
      warm = { fn: null, key: sandbox.key };
    } catch (err) {
      log.warn({ err, runtime: runtime.name }, 'could not warm a runtime sandbox');
    }
  }
  sayReady();
}

async function stop(): Promise<void> {
  clearTimeout(idleTimer);
  // A sandbox still being made when told to stop would be left behind once made: wait for it.
  await inCreation?.catch(() => undefined);
  await dropSandbox().catch(() => undefined);
  await Promise.allSettled([...removing]);
  sock.close();
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
// A worker daemon killed outright cannot stop its miniworkers: they notice they were orphaned
// and clean up their container themselves.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) {
    log.warn({ parent }, 'worker daemon gone, stopping');
    void stop();
  }
}, 1_000).unref();
process.on('SIGINT', () => undefined); // the broker stops us; Ctrl-C on the group must not

sayReady();
for await (const batch of sock) {
  for (const frames of unbatchOrLog(batch, log)) await onBrokerMessage(frames);
}

async function onBrokerMessage(frames: Buffer[]): Promise<void> {
  try {
    const msg = decodeEvent(frames, brokerToMiniworkerSchemas);
    switch (msg.msgType) {
      case 'task':
        if (current) {
          callLogger(log, msg.content.task).error('task received while busy; refused');
          send('failed', { callId: msg.content.task.callId, attempt: msg.content.task.attempt, code: 'BUSY', message: 'miniworker busy', retryable: true });
          break;
        }
        void runTask(msg.content.task, msg.content.prepared);
        break;
      case 'warm':
        void warmRuntime(msg.content.runtime);
        break;
      case 'cancel':
        if (current?.callId === msg.content.callId && current.attempt === msg.content.attempt) {
          cancelled = true;
          await dropSandbox();
        }
        break;
      case 'stop':
        await stop();
        break;
    }
  } catch (err) {
    log.warn({ err }, 'bad message from broker dropped');
  }
}
