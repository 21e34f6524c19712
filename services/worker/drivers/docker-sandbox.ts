import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import { nanoid } from 'nanoid';
import { AgentChannel, callAgent } from '../miniworker/agent-channel.js';
import { ExecAgentChannel } from '../miniworker/exec-agent-channel.js';
import { ExecReports } from '../miniworker/exec-reports.js';
import { CappedOutput } from '../capped-output.js';
import {
  CallErrorCode,
  execEnv,
  execResult,
  exitedNonZero,
  failedOutcome,
  functionEnv,
  outOfMemory,
  timedOut as timedOutOutcome,
  type CallOutcome,
  type CallTask,
  type ProgressSink,
} from '../call-task.js';
import { stageCode } from './code-stage.js';
import { cgroupCounts, cgroupFiles, type CgroupCounts, type CgroupFiles } from './cgroup-counts.js';
import { nanoCpusFor } from './cpu-share.js';
import { Label } from './docker-driver.js';
import { runtimeKey, type PreparedFunction, type RuntimeSpec, type Sandbox, type SandboxOptions } from './driver.js';

const MiB = 1024 * 1024;
const AGENT_SOCKET_IN_CONTAINER = '/run/ferry';
/**
 * The exec agent (runtimes/exec-agent), built by `npm run build` beside the compiled code: a
 * static program, so any image runs it. Bound read-only into every reused exec container.
 */
const EXEC_AGENT = fileURLToPath(new URL('../../../exec-agent/ferry-exec-agent', import.meta.url));
const EXEC_AGENT_IN_CONTAINER = '/opt/ferry/exec-agent';
/** Memory of a runtime-wide container until a function moves in and brings its own limit. */
const RUNTIME_SANDBOX_MEMORY_MB = 256;
const AGENT_START_TIMEOUT_MS = 30_000;
/** How long a dead agent's container is given to stop before its OOM record is read. */
const AGENT_EXIT_WAIT_MS = 2_000;

/**
 * One container run by one miniworker. Three shapes, by protocol and preload:
 * - exec, single use: the container's command is the function's `run` (a bare `docker run`);
 * - exec, reused: the exec agent is the container's command and starts `run` per call itself,
 *   over a Unix socket like an agent's, with no round trip through the engine;
 * - agent: the runtime's agent is the container's command and serves calls over a Unix socket.
 * Every call runs as an unprivileged user with no network, all capabilities dropped,
 * no-new-privileges, a read-only root filesystem with a size-limited /tmp, and memory, CPU and
 * pid limits; at the call's timeout the container is killed. Code the image does not hold is a
 * read-only bind of the node's staged copy at the runtime's path.
 */
export class DockerSandbox implements Sandbox {
  alive = true;
  private destroyed = false;
  /** The cgroup files of a container that outlives its calls, found once its init runs. */
  private cgroup: CgroupFiles | null = null;
  /** The counts the last call left, which the next starts from when nothing has run in between. */
  private idleCounts: CgroupCounts | null = null;

  private constructor(
    private readonly docker: Docker,
    private readonly container: Docker.Container,
    public key: string,
    private readonly runtime: RuntimeSpec,
    private readonly options: SandboxOptions,
    private readonly mode: 'exec-once' | 'exec-reuse' | 'agent',
    private readonly channel: AgentChannel | null,
    private readonly execAgent: ExecAgentChannel | null,
    /** Host folder of this container's agent socket and staged code; removed with it. */
    private readonly hostDir: string,
    /** Host folder the container sees, read-only, at the runtime's path; null when the image holds the code. */
    private readonly codeStage: string | null,
    /** The container's memory limit as last set (its CPU limit follows it). */
    private memoryMb: number,
  ) {}

  /** A container from the function's image, for `task`. */
  static create(docker: Docker, prepared: PreparedFunction, task: CallTask, options: SandboxOptions): Promise<DockerSandbox> {
    const rt = prepared.runtime;
    const mode = rt.protocol === 'agent' ? 'agent' : options.reuse ? 'exec-reuse' : 'exec-once';
    return DockerSandbox.start(docker, options, mode, {
      image: prepared.artifact,
      key: prepared.key,
      runtime: rt,
      code: prepared.codeInArtifact ? null : prepared.codeDir,
      labels: { [Label.fn]: prepared.warmKey, [Label.call]: task.callId },
      handler: rt.run,
      memoryMb: task.memoryMb,
      task,
      mountCode: !prepared.codeInArtifact,
    });
  }

  /** A container from the runtime's image holding no function yet (preload `runtime`). */
  static createForRuntime(docker: Docker, runtime: RuntimeSpec, options: SandboxOptions): Promise<DockerSandbox> {
    return DockerSandbox.start(docker, options, runtime.protocol === 'agent' ? 'agent' : 'exec-reuse', {
      image: runtime.image,
      key: runtimeKey(runtime),
      runtime,
      code: null,
      labels: { [Label.fn]: '', [Label.call]: '' },
      handler: '',
      memoryMb: RUNTIME_SANDBOX_MEMORY_MB,
      task: null,
      mountCode: true,
    });
  }

  private static async start(
    docker: Docker,
    options: SandboxOptions,
    mode: 'exec-once' | 'exec-reuse' | 'agent',
    spec: {
      image: string;
      key: string;
      runtime: RuntimeSpec;
      /** Code to stage at the runtime's path before start, when the image does not hold it. */
      code: string | null;
      labels: Record<string, string>;
      handler: string;
      memoryMb: number;
      /**
       * The call a container for one function is made for: its variables are the container's
       * (agent, single use), and a single-use container's env also names the call.
       */
      task: CallTask | null;
      /** Bind a staged code folder at the runtime's path: `code` now, or a function's code when one moves in. */
      mountCode: boolean;
    },
  ): Promise<DockerSandbox> {
    const rt = spec.runtime;
    const { limits } = options;
    // HOME in /tmp: tools that keep caches or user installs under ~ (pip, npm) find it writable.
    const env = [`FERRY_CODE_DIR=${rt.path}`, `FERRY_OUTPUT_CAP_BYTES=${options.outputCapBytes}`, 'HOME=/tmp'];
    const hostDir = path.join(options.socketDir, nanoid(10));
    await mkdir(hostDir, { recursive: true, mode: 0o755 });
    let channel: AgentChannel | null = null;
    let execAgent: ExecAgentChannel | null = null;
    let codeStage: string | null = null;
    const binds: string[] = [];
    let cmd: string[];
    const undoSetup = async (): Promise<void> => {
      await channel?.close();
      await execAgent?.close();
      await rm(hostDir, { recursive: true, force: true });
    };
    try {
      if (spec.mountCode) {
        codeStage = path.join(hostDir, 'code');
        if (spec.code !== null) await stageCode(spec.code, codeStage);
        else await mkdir(codeStage, { mode: 0o755 });
        binds.push(`${codeStage}:${rt.path}:ro`);
      }
      if (mode !== 'exec-once') {
        const agentDir = path.join(hostDir, 'agent');
        await mkdir(agentDir, { mode: 0o755 });
        binds.push(`${agentDir}:${AGENT_SOCKET_IN_CONTAINER}`);
        if (mode === 'agent') channel = await AgentChannel.listen(path.join(agentDir, 'agent.sock'));
        else execAgent = await ExecAgentChannel.listen(path.join(agentDir, 'agent.sock'));
      }
      if (mode === 'agent') {
        env.push(`FERRY_AGENT_SOCKET=${AGENT_SOCKET_IN_CONTAINER}/agent.sock`, `FERRY_HANDLER=${spec.handler}`);
        // The agent's environment is the function's: a container made for one function gets its variables.
        if (spec.task) env.push(...envList(functionEnv(spec.task)));
        cmd = ['/opt/ferry/agent/start'];
      } else if (mode === 'exec-reuse') {
        binds.push(`${EXEC_AGENT}:${EXEC_AGENT_IN_CONTAINER}:ro`);
        cmd = [EXEC_AGENT_IN_CONTAINER, `${AGENT_SOCKET_IN_CONTAINER}/agent.sock`];
      } else {
        if (spec.task) env.push(...envList(execEnv(spec.task)));
        cmd = ['sh', '-c', rt.run];
      }
    } catch (err) {
      await undoSetup();
      throw err;
    }
    const memory = spec.memoryMb * MiB;
    const nanoCpus = nanoCpusFor(spec.memoryMb, limits.mbPerCpu);
    let container: Docker.Container;
    try {
      container = await docker.createContainer({
        Image: spec.image,
        Cmd: cmd,
        Env: env,
        WorkingDir: rt.path,
        User: `${limits.user.uid}:${limits.user.gid}`,
        Labels: { [Label.node]: options.nodeId, [Label.owner]: options.ownerId, ...spec.labels },
        OpenStdin: mode === 'exec-once',
        StdinOnce: mode === 'exec-once',
        AttachStdin: mode === 'exec-once',
        AttachStdout: mode === 'exec-once',
        AttachStderr: mode === 'exec-once',
        HostConfig: {
          NetworkMode: 'none',
          Memory: memory,
          MemorySwap: memory,
          ...(nanoCpus > 0 ? { NanoCpus: nanoCpus } : {}),
          PidsLimit: limits.pidsLimit,
          CapDrop: ['ALL'],
          SecurityOpt: ['no-new-privileges'],
          ReadonlyRootfs: true,
          // exec: a function may unpack and run a tool in /tmp, as on AWS Lambda.
          Tmpfs: { '/tmp': `rw,exec,nosuid,nodev,size=${limits.tmpMb}m,mode=1777` },
          Binds: binds,
          LogConfig: { Type: 'none', Config: {} },
        },
      });
    } catch (err) {
      await undoSetup();
      throw err;
    }
    const sandbox = new DockerSandbox(docker, container, spec.key, rt, options, mode, channel, execAgent, hostDir, codeStage, spec.memoryMb);
    if (mode !== 'exec-once') {
      try {
        await container.start();
        const initPid = (await container.inspect()).State.Pid;
        sandbox.cgroup = initPid ? await cgroupFiles(initPid) : null;
        // An agent that dies (bad image, crash at start) is noticed now, not at the ready timeout.
        container.wait().then(
          (r: { StatusCode?: number }) => (channel ?? execAgent)?.abandon(`the agent's container exited with code ${r.StatusCode ?? '?'}`),
          () => undefined,
        );
      } catch (err) {
        await sandbox.destroy();
        throw err;
      }
    }
    return sandbox;
  }

  /**
   * The first call of a function waits on this, so it avoids the engine where it can: the code is
   * staged (hard links on the host, about a millisecond) into the folder the container already
   * sees at the runtime's path, where a `docker cp` would take ~50 ms and a writable root.
   */
  async adopt(prepared: PreparedFunction, task: CallTask): Promise<void> {
    if (this.codeStage === null) throw new Error('a function can move only into a runtime-wide sandbox');
    // All before the load: loading runs the handler's module, which must live under its own limits.
    await Promise.all([
      this.channel?.ready(AGENT_START_TIMEOUT_MS),
      this.applyLimits(task.memoryMb),
      stageCode(prepared.codeDir, this.codeStage),
    ]);
    this.idleCounts = null; // loading a handler runs code in the container
    if (this.channel) {
      const loaded = await this.channel.load(prepared.runtime.run);
      if (!loaded.ok) this.alive = false; // calls still answer the load error; the next call gets a fresh sandbox
    }
    this.key = prepared.key;
  }

  async run(task: CallTask, sink: ProgressSink): Promise<CallOutcome> {
    // A warm container is reused by code, not by version: a call brings its own memory (and CPU).
    await this.applyLimits(task.memoryMb);
    switch (this.mode) {
      case 'agent':
        return this.runAgent(task, sink);
      case 'exec-reuse':
        return this.runExec(task, sink);
      case 'exec-once':
        return this.runOnce(task, sink);
    }
  }

  async destroy(): Promise<void> {
    this.alive = false;
    if (this.destroyed) return;
    this.destroyed = true;
    await this.container.remove({ force: true }).catch(() => undefined);
    await this.channel?.close().catch(() => undefined);
    await this.execAgent?.close().catch(() => undefined);
    await rm(this.hostDir, { recursive: true, force: true });
  }

  /** Memory and the CPU share that follows it; a `docker update` is a round trip through the engine, skipped when they stay. */
  private async applyLimits(memoryMb: number): Promise<void> {
    if (memoryMb === this.memoryMb) return;
    const memory = memoryMb * MiB;
    const nanoCpus = nanoCpusFor(memoryMb, this.options.limits.mbPerCpu);
    await this.container.update({ Memory: memory, MemorySwap: memory, ...(nanoCpus > 0 ? { NanoCpus: nanoCpus } : {}) });
    this.memoryMb = memoryMb;
  }

  /** `docker run` of the function's command: attach, start, write params, wait. */
  private async runOnce(task: CallTask, sink: ProgressSink): Promise<CallOutcome> {
    const initStart = performance.now();
    const stream = await this.container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
    const out = this.collect(stream, sink);
    await this.container.start();
    const runStart = performance.now();
    stream.end(JSON.stringify(task.params ?? null));
    const timer = this.killAfter(task.timeoutMs);
    const { StatusCode } = (await this.container.wait()) as { StatusCode: number };
    clearTimeout(timer.handle);
    await out.done;
    this.alive = false;
    return this.outcome(task, StatusCode, timer.fired, out, runStart - initStart, performance.now() - runStart);
  }

  /**
   * One run of the function's command in the warm container, started by its exec agent. At the
   * timeout the container is killed, as for any call; a run the OOM killer ended leaves the agent
   * running, and the cgroup's count tells it from a crash.
   */
  private async runExec(task: CallTask, sink: ProgressSink): Promise<CallOutcome> {
    const initStart = performance.now();
    const agent = this.execAgent!;
    await agent.ready(AGENT_START_TIMEOUT_MS);
    const before = await this.countsBefore();
    const runStart = performance.now();
    const out = this.execOutput(sink);
    const timer = this.killAfter(task.timeoutMs);
    let exitCode: number | null;
    try {
      const io = { stdout: (b: Buffer) => out.stdout.push(b), stderr: (b: Buffer) => out.reports.push(b) };
      exitCode = await agent.run(this.runtime.run, execEnv(task), Buffer.from(JSON.stringify(task.params ?? null)), io);
    } catch {
      exitCode = null;
    } finally {
      clearTimeout(timer.handle);
    }
    out.reports.end();
    const initMs = runStart - initStart;
    if (exitCode === null) {
      // The container went away mid-run: killed at the timeout, by the OOM killer (the agent
      // itself, when the run's memory left it nothing), or removed by a cancel.
      this.alive = false;
      const runMs = performance.now() - runStart;
      if (timer.fired || (await this.agentKilledForMemory(before))) return this.outcome(task, 137, timer.fired, out, initMs, runMs, true);
      return failedOutcome(CallErrorCode.SANDBOX_FAILED, "the exec agent's container exited during the call", initMs, runMs);
    }
    const after = await this.judgeAfterCall(before);
    const outcome = await this.outcome(task, exitCode, timer.fired, out, initMs, performance.now() - runStart, after.oomKilled);
    return after.pidsLimitHit ? this.notePidsLimit(outcome) : outcome;
  }

  private async runAgent(task: CallTask, sink: ProgressSink): Promise<CallOutcome> {
    const before = await this.countsBefore();
    const timer = this.killAfter(task.timeoutMs);
    let outcome: CallOutcome;
    try {
      outcome = await callAgent(this.channel!, task, sink, async (initMs, runMs) => {
        this.alive = false;
        if (timer.fired) return timedOutOutcome(task, initMs, runMs);
        return (await this.agentKilledForMemory(before)) ? outOfMemory(task, initMs, runMs) : null;
      });
    } finally {
      clearTimeout(timer.handle);
    }
    return (await this.judgeAfterCall(before)).pidsLimitHit ? this.notePidsLimit(outcome) : outcome;
  }

  /**
   * Whether the OOM killer ended the agent (not at a timeout: Ferry's own kill). By its cgroup's
   * count while the cgroup is still there; else once the container has stopped, by the engine's
   * record, which may see the exit before the OOM event: so an agent killed by SIGKILL counts as
   * well, for no process inside can SIGKILL the agent, the container's init.
   */
  private async agentKilledForMemory(before: CgroupCounts | null): Promise<boolean> {
    const now = await this.counts();
    if (before?.oomKills != null && now?.oomKills != null && now.oomKills > before.oomKills) return true;
    await Promise.race([this.container.wait(), delay(AGENT_EXIT_WAIT_MS)]).catch(() => undefined);
    try {
      const { State } = await this.container.inspect();
      return State.OOMKilled === true || (!State.Running && State.ExitCode === 137);
    } catch {
      return false;
    }
  }

  /** The container's cgroup counts, for {@link judgeAfterCall}; null for a single-use container. */
  private async counts(): Promise<CgroupCounts | null> {
    return this.cgroup === null ? null : cgroupCounts(this.cgroup);
  }

  /** The counts a call starts from: read once per call, for a warm container idles between calls. */
  private async countsBefore(): Promise<CgroupCounts | null> {
    const idle = this.idleCounts;
    this.idleCounts = null;
    return idle ?? this.counts();
  }

  /**
   * After a call in a container that outlives it: whether the OOM killer struck during the call,
   * and whether the call hit its pids limit. A container whose call hit that limit or left
   * processes running (a fork bomb that outlives its command) serves no further call.
   */
  private async judgeAfterCall(before: CgroupCounts | null): Promise<{ oomKilled: boolean; pidsLimitHit: boolean }> {
    if (before === null || !this.alive) return { oomKilled: false, pidsLimitHit: false };
    const after = await this.counts();
    if (after === null) return { oomKilled: false, pidsLimitHit: false };
    const grew = (a: number | null, b: number | null): boolean => a !== null && b !== null && a > b;
    const pidsLimitHit = grew(after.pidsLimitHits, before.pidsLimitHits);
    if (pidsLimitHit || grew(after.processes, before.processes)) this.alive = false;
    else this.idleCounts = after;
    return { oomKilled: grew(after.oomKills, before.oomKills), pidsLimitHit };
  }

  /** A failed call that ran into its process limit says so: the function's own error is an EAGAIN from fork. */
  private notePidsLimit(outcome: CallOutcome): CallOutcome {
    if (outcome.error === null) return outcome;
    const note = ` (the call reached its limit of ${this.options.limits.pidsLimit} processes)`;
    return { ...outcome, error: { ...outcome.error, message: outcome.error.message + note } };
  }

  /** An exec call's stdout and stderr, with its `##ferry` report lines taken out of stderr (see ExecReports). */
  private execOutput(sink: ProgressSink): ExecOutput {
    const stdout = new CappedOutput(this.options.outputCapBytes);
    const stderr = new CappedOutput(this.options.outputCapBytes);
    return { stdout, stderr, reports: new ExecReports(stderr, sink) };
  }

  /** {@link execOutput} of a single-use container's attached stream; `done` once it ended. */
  private collect(stream: NodeJS.ReadWriteStream, sink: ProgressSink): ExecOutput & { done: Promise<void> } {
    const out = this.execOutput(sink);
    const so = new PassThrough();
    const se = new PassThrough();
    so.on('data', (d: Buffer) => out.stdout.push(d));
    se.on('data', (d: Buffer) => out.reports.push(d));
    this.docker.modem.demuxStream(stream, so, se);
    const done = new Promise<void>((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', () => resolve());
    }).then(() => out.reports.end());
    return { ...out, done };
  }

  private killAfter(timeoutMs: number): { handle: NodeJS.Timeout; fired: boolean } {
    const timer = {
      fired: false,
      handle: setTimeout(() => {
        timer.fired = true;
        this.alive = false;
        void this.container.kill().catch(() => undefined);
      }, timeoutMs),
    };
    return timer;
  }

  private async oomKilled(): Promise<boolean> {
    try {
      const info = await this.container.inspect();
      return info.State.OOMKilled === true;
    } catch {
      return false;
    }
  }

  private async outcome(
    task: CallTask,
    exitCode: number,
    timedOut: boolean,
    out: ExecOutput,
    initMs: number,
    runMs: number,
    oomKilled = false,
  ): Promise<CallOutcome> {
    const logs = { stdout: out.stdout.text(), stderr: out.stderr.text(), truncated: out.stdout.truncated || out.stderr.truncated };
    if (timedOut) return { ...timedOutOutcome(task, initMs, runMs), logs };
    if (exitCode === 0) return { status: 'DONE', result: execResult(logs.stdout), error: null, logs, timings: { initMs, runMs }, exitCode };
    if (exitCode === 137 && (oomKilled || (await this.oomKilled()))) {
      this.alive = false;
      return { ...outOfMemory(task, initMs, runMs), logs };
    }
    return exitedNonZero(exitCode, logs, initMs, runMs, out.reports.final);
  }
}

/** What an exec call wrote, as it streams in. */
interface ExecOutput {
  stdout: CappedOutput;
  stderr: CappedOutput;
  reports: ExecReports;
}

/** Env as the engine takes it: `NAME=value` strings. */
function envList(env: Record<string, string>): string[] {
  return Object.entries(env).map(([name, value]) => `${name}=${value}`);
}
