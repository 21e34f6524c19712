import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { nanoid } from 'nanoid';
import { AgentChannel, AgentFeature, callAgent } from '../miniworker/agent-channel.js';
import { ExecReports } from '../miniworker/exec-reports.js';
import { CappedOutput } from '../capped-output.js';
import {
  execEnv,
  execResult,
  exitedNonZero,
  functionEnv,
  outOfMemory,
  timedOut as timedOutOutcome,
  type CallOutcome,
  type CallTask,
  type ProgressSink,
} from '../call-task.js';
import { stageCode } from './code-stage.js';
import { codeArchive, Label } from './docker-driver.js';
import { runtimeKey, type PreparedFunction, type RuntimeSpec, type Sandbox, type SandboxOptions } from './driver.js';
import { oomKillCount } from './oom-kills.js';

const MiB = 1024 * 1024;
/** Keeps a warm exec container alive doing nothing until it is removed. */
const IDLE_CMD = ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 3600 & wait $!; done'];
const AGENT_SOCKET_IN_CONTAINER = '/run/ferry';
/** Where a runtime-wide agent container sees, read-only, the code of the function moving in. */
const CODE_STAGE_IN_CONTAINER = '/run/ferry-code';
/** Memory of a runtime-wide container until a function moves in and brings its own limit. */
const RUNTIME_SANDBOX_MEMORY_MB = 256;
const AGENT_START_TIMEOUT_MS = 30_000;

/**
 * One container run by one miniworker. Three shapes, by protocol and preload:
 * - exec, single use: the container's command is the function's `run` (a bare `docker run`);
 * - exec, reused: an idle container in which each call is a `docker exec` of `run`;
 * - agent: the runtime's agent is the container's command and serves calls over a Unix socket.
 * Every call runs with no network, all capabilities dropped, no-new-privileges, and memory and
 * pid limits; at the call's timeout the container is killed.
 */
export class DockerSandbox implements Sandbox {
  alive = true;
  private destroyed = false;
  /** The container's init process on the host, for reading its cgroup's OOM kills. */
  private initPid: number | null = null;

  private constructor(
    private readonly docker: Docker,
    private readonly container: Docker.Container,
    public key: string,
    private readonly runtime: RuntimeSpec,
    private readonly options: SandboxOptions,
    private readonly mode: 'exec-once' | 'exec-reuse' | 'agent',
    private readonly channel: AgentChannel | null,
    private readonly socketDir: string | null,
    /** Host folder mounted read-only at CODE_STAGE_IN_CONTAINER (runtime-wide agent containers). */
    private readonly stageDir: string | null,
    /** The container's memory limit as last set. */
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
      stage: false,
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
      stage: true,
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
      /** Code to copy in before start, when the image does not hold it. */
      code: string | null;
      labels: Record<string, string>;
      handler: string;
      memoryMb: number;
      /**
       * The call a container for one function is made for: its variables are the container's
       * (agent, single use), and a single-use container's env also names the call.
       */
      task: CallTask | null;
      /** Mount a folder through which a function's code can be handed to the agent later. */
      stage: boolean;
    },
  ): Promise<DockerSandbox> {
    const rt = spec.runtime;
    const env = [`FERRY_CODE_DIR=${rt.path}`, `FERRY_OUTPUT_CAP_BYTES=${options.outputCapBytes}`];
    let channel: AgentChannel | null = null;
    let socketDir: string | null = null;
    let stageDir: string | null = null;
    const binds: string[] = [];
    let cmd: string[];
    if (mode === 'agent') {
      socketDir = path.join(options.socketDir, nanoid(10));
      await mkdir(socketDir, { recursive: true });
      channel = await AgentChannel.listen(path.join(socketDir, 'agent.sock'));
      binds.push(`${socketDir}:${AGENT_SOCKET_IN_CONTAINER}`);
      if (spec.stage) {
        stageDir = `${socketDir}-code`;
        await mkdir(stageDir, { mode: 0o755 });
        binds.push(`${stageDir}:${CODE_STAGE_IN_CONTAINER}:ro`);
      }
      env.push(`FERRY_AGENT_SOCKET=${AGENT_SOCKET_IN_CONTAINER}/agent.sock`, `FERRY_HANDLER=${spec.handler}`);
      // The agent's environment is the function's: a container made for one function gets its variables.
      if (spec.task) env.push(...envList(functionEnv(spec.task)));
      cmd = ['/opt/ferry/agent/start'];
    } else if (mode === 'exec-reuse') {
      cmd = IDLE_CMD;
    } else {
      if (spec.task) env.push(...envList(execEnv(spec.task)));
      cmd = ['sh', '-c', rt.run];
    }
    const memory = spec.memoryMb * MiB;
    let container: Docker.Container;
    try {
      container = await docker.createContainer({
        Image: spec.image,
        Cmd: cmd,
        Env: env,
        WorkingDir: rt.path,
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
          PidsLimit: options.pidsLimit,
          CapDrop: ['ALL'],
          SecurityOpt: ['no-new-privileges'],
          Binds: binds,
          LogConfig: { Type: 'none', Config: {} },
        },
      });
    } catch (err) {
      await channel?.close();
      for (const dir of [socketDir, stageDir]) if (dir) await rm(dir, { recursive: true, force: true });
      throw err;
    }
    const sandbox = new DockerSandbox(docker, container, spec.key, rt, options, mode, channel, socketDir, stageDir, spec.memoryMb);
    if (spec.code !== null) {
      try {
        await container.putArchive(await codeArchive(spec.code, rt.path), { path: '/' });
      } catch (err) {
        await sandbox.destroy();
        throw err;
      }
    }
    if (mode !== 'exec-once') {
      try {
        await container.start();
        sandbox.initPid = (await container.inspect()).State.Pid || null;
        if (channel) {
          // An agent that dies (bad image, crash at start) is noticed now, not at the ready timeout.
          container.wait().then(
            (r: { StatusCode?: number }) => channel.abandon(`the runtime agent's container exited with code ${r.StatusCode ?? '?'}`),
            () => undefined,
          );
        }
      } catch (err) {
        await sandbox.destroy();
        throw err;
      }
    }
    return sandbox;
  }

  /**
   * The first call of a function waits on this, so it avoids the engine where it can: `docker cp`
   * (putArchive) alone takes ~50 ms, while an agent that copies the code from its read-only stage
   * folder (hard links on the host) takes about a millisecond.
   */
  async adopt(prepared: PreparedFunction, task: CallTask): Promise<void> {
    const ready = this.channel ? await this.channel.ready(AGENT_START_TIMEOUT_MS) : null;
    const staged = this.stageDir !== null && ready?.features?.includes(AgentFeature.loadFrom) === true;
    // Both before the load: loading runs the handler's module, which must live under its own limit.
    await Promise.all([
      this.limitMemory(task.memoryMb),
      staged ? stageCode(prepared.codeDir, this.stageDir!) : this.putCode(prepared),
    ]);
    if (this.channel) {
      const loaded = await this.channel.load(prepared.runtime.run, staged ? CODE_STAGE_IN_CONTAINER : undefined);
      if (!loaded.ok) this.alive = false; // calls still answer the load error; the next call gets a fresh sandbox
    }
    this.key = prepared.key;
  }

  async run(task: CallTask, sink: ProgressSink): Promise<CallOutcome> {
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
    for (const dir of [this.socketDir, this.stageDir]) if (dir) await rm(dir, { recursive: true, force: true });
  }

  private async putCode(prepared: PreparedFunction): Promise<void> {
    await this.container.putArchive(await codeArchive(prepared.codeDir, prepared.runtime.path), { path: '/' });
  }

  /** A `docker update` is a round trip through the engine: skipped when the limit stays. */
  private async limitMemory(memoryMb: number): Promise<void> {
    if (memoryMb === this.memoryMb) return;
    const memory = memoryMb * MiB;
    await this.container.update({ Memory: memory, MemorySwap: memory });
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

  /** One `docker exec` of the function's command in the warm container. */
  private async runExec(task: CallTask, sink: ProgressSink): Promise<CallOutcome> {
    const initStart = performance.now();
    const exec = await this.container.exec({
      Cmd: ['sh', '-c', this.runtime.run],
      Env: envList(execEnv(task)),
      WorkingDir: this.runtime.path,
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
    });
    const oomBefore = this.initPid === null ? null : await oomKillCount(this.initPid);
    const stream = await exec.start({ hijack: true, stdin: true });
    const runStart = performance.now();
    const out = this.collect(stream, sink);
    stream.end(JSON.stringify(task.params ?? null));
    const timer = this.killAfter(task.timeoutMs);
    await out.done;
    clearTimeout(timer.handle);
    const exitCode = timer.fired ? 137 : (((await exec.inspect()) as { ExitCode: number | null }).ExitCode ?? 137);
    const oomKilled = oomBefore !== null && this.initPid !== null && ((await oomKillCount(this.initPid)) ?? 0) > oomBefore;
    return this.outcome(task, exitCode, timer.fired, out, runStart - initStart, performance.now() - runStart, oomKilled);
  }

  private async runAgent(task: CallTask, sink: ProgressSink): Promise<CallOutcome> {
    const timer = this.killAfter(task.timeoutMs);
    try {
      return await callAgent(this.channel!, task, sink, async (initMs, runMs) => {
        this.alive = false;
        if (timer.fired) return timedOutOutcome(task, initMs, runMs);
        return (await this.oomKilled()) ? outOfMemory(task, initMs, runMs) : null;
      });
    } finally {
      clearTimeout(timer.handle);
    }
  }

  /** An exec call's stdout and stderr, with its `##ferry` report lines taken out of stderr (see ExecReports). */
  private collect(stream: NodeJS.ReadWriteStream, sink: ProgressSink): ExecOutput {
    const stdout = new CappedOutput(this.options.outputCapBytes);
    const stderr = new CappedOutput(this.options.outputCapBytes);
    const reports = new ExecReports(stderr, sink);
    const so = new PassThrough();
    const se = new PassThrough();
    so.on('data', (d: Buffer) => stdout.push(d));
    se.on('data', (d: Buffer) => reports.push(d));
    this.docker.modem.demuxStream(stream, so, se);
    const done = new Promise<void>((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', () => resolve());
    }).then(() => reports.end());
    return { stdout, stderr, reports, done };
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

/** What an exec call wrote, as it streams in; `done` once both streams ended. */
interface ExecOutput {
  stdout: CappedOutput;
  stderr: CappedOutput;
  reports: ExecReports;
  done: Promise<void>;
}

/** Env as the engine takes it: `NAME=value` strings. */
function envList(env: Record<string, string>): string[] {
  return Object.entries(env).map(([name, value]) => `${name}=${value}`);
}
