import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { AgentChannel, callAgent } from '../miniworker/agent-channel.js';
import { ExecReports } from '../miniworker/exec-reports.js';
import { CappedOutput } from '../capped-output.js';
import { callEnv, execResult, exitedNonZero, functionEnv, outOfMemory, timedOut, type CallOutcome, type CallTask, type ProgressSink } from '../call-task.js';
import { runtimeKey, type PreparedFunction, type RuntimeSpec, type Sandbox, type SandboxOptions } from './driver.js';
import { agentCommand } from './process-driver.js';
import { treeRssBytes } from './process-tree.js';

const MiB = 1024 * 1024;
const MEMORY_POLL_MS = 100;
/** The descriptor bwrap reads the function's variables from (after stdin, stdout, stderr). */
const BWRAP_ARGS_FD = 3;

/**
 * A call's process sandbox: a fresh copy of the function's folder in a temp dir. `exec` runs
 * `run` once per call; `agent` keeps the runtime's agent running there for warm calls.
 */
export class ProcessSandbox implements Sandbox {
  alive = true;
  private agent: ChildProcess | null = null;
  private channel: AgentChannel | null = null;

  private constructor(
    public key: string,
    private readonly runtime: RuntimeSpec,
    private readonly options: SandboxOptions,
    private readonly workDir: string,
    private readonly bwrap: boolean,
  ) {}

  static create(prepared: PreparedFunction, task: CallTask, options: SandboxOptions, bwrap: boolean): Promise<ProcessSandbox> {
    return ProcessSandbox.start(prepared.key, prepared.runtime, prepared.artifact, prepared.runtime.run, options, bwrap, functionEnv(task));
  }

  /** A sandbox of `runtime` with an empty folder and, for agent runtimes, an agent with no handler yet. */
  static createForRuntime(runtime: RuntimeSpec, options: SandboxOptions, bwrap: boolean): Promise<ProcessSandbox> {
    return ProcessSandbox.start(runtimeKey(runtime), runtime, null, '', options, bwrap);
  }

  private static async start(
    key: string,
    runtime: RuntimeSpec,
    codeFrom: string | null,
    handler: string,
    options: SandboxOptions,
    bwrap: boolean,
    /** The function's variables, for its agent (a runtime-wide sandbox has none). */
    fnEnv: Record<string, string> = {},
  ): Promise<ProcessSandbox> {
    await mkdir(options.socketDir, { recursive: true });
    const workDir = await mkdtemp(path.join(os.tmpdir(), 'ferry-sandbox-'));
    if (codeFrom) await cp(codeFrom, workDir, { recursive: true });
    const sandbox = new ProcessSandbox(key, runtime, options, workDir, bwrap);
    if (runtime.protocol === 'agent') await sandbox.startAgent(handler, fnEnv);
    return sandbox;
  }

  async adopt(prepared: PreparedFunction): Promise<void> {
    await cp(prepared.artifact, this.workDir, { recursive: true });
    if (this.channel) {
      await this.channel.ready(30_000);
      const loaded = await this.channel.load(prepared.runtime.run);
      if (!loaded.ok) this.alive = false;
    }
    this.key = prepared.key;
  }

  async run(task: CallTask, sink: ProgressSink): Promise<CallOutcome> {
    return this.agent ? this.runAgent(task, sink) : this.runExec(task, sink);
  }

  async destroy(): Promise<void> {
    this.alive = false;
    if (this.agent && this.agent.exitCode === null) killTree(this.agent);
    await this.channel?.close().catch(() => undefined);
    await rm(this.workDir, { recursive: true, force: true });
  }

  /**
   * `argv` inside bubblewrap when present: host read-only, private /tmp, no network. `argsFd`:
   * bwrap reads more of its options (the function's variables) from that descriptor.
   */
  private command(argv: string[], readOnly: string[], argsFd: number | null): string[] {
    if (!this.bwrap) return argv;
    return [
      'bwrap', ...(argsFd === null ? [] : ['--args', String(argsFd)]), '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp',
      // Mounted after the private /tmp, so folders that live under /tmp stay visible.
      ...readOnly.flatMap((dir) => ['--ro-bind', dir, dir]),
      '--bind', this.workDir, this.workDir, '--bind', this.options.socketDir, this.options.socketDir,
      '--unshare-all', '--die-with-parent', '--new-session', '--chdir', this.workDir, ...argv,
    ];
  }

  /**
   * Starts `argv` with Ferry's `env` and the function's variables `fnEnv`. Inside bubblewrap,
   * bwrap sets `fnEnv` in the sandbox only (`--setenv`), read from a pipe: on bwrap's own
   * environment a variable such as LD_PRELOAD or PATH would act on bwrap, outside the sandbox,
   * and on its command line any user of the host could read a secret in /proc.
   */
  private spawn(argv: string[], env: Record<string, string>, readOnly: string[] = [], fnEnv: Record<string, string> = {}): ChildProcess {
    const throughBwrap = this.bwrap && Object.keys(fnEnv).length > 0;
    const [cmd, ...args] = this.command(argv, readOnly, throughBwrap ? BWRAP_ARGS_FD : null);
    const child = spawn(cmd!, args, {
      cwd: this.workDir,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: this.workDir, FERRY_CODE_DIR: this.workDir, ...(this.bwrap ? {} : fnEnv), ...env },
      stdio: throughBwrap ? ['pipe', 'pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe'],
      detached: true, // its own process group, so a timeout kills every process the call started
    });
    if (throughBwrap) {
      const options = child.stdio[BWRAP_ARGS_FD] as Writable;
      options.on('error', () => undefined); // bwrap failed to start: its exit says so
      options.end(Object.entries(fnEnv).map(([name, value]) => `--setenv\0${name}\0${value}\0`).join(''));
    }
    return child;
  }

  private async startAgent(handler: string, fnEnv: Record<string, string>): Promise<void> {
    const agent = agentCommand(this.runtime);
    if (!agent) throw new Error(`no agent for runtime image ${this.runtime.image}`);
    const socketPath = path.join(this.options.socketDir, `${path.basename(this.workDir)}.sock`);
    const channel = await AgentChannel.listen(socketPath);
    this.channel = channel;
    const child = this.spawn(
      agent.argv,
      { FERRY_AGENT_SOCKET: socketPath, FERRY_HANDLER: handler, FERRY_OUTPUT_CAP_BYTES: String(this.options.outputCapBytes) },
      [agent.dir],
      fnEnv,
    );
    this.agent = child;
    const stderr = new CappedOutput(4096);
    child.stdout?.resume();
    child.stderr?.on('data', (d: Buffer) => stderr.push(d));
    child.once('exit', (code, signal) => {
      this.alive = false;
      channel.abandon(`the runtime agent exited (${signal ?? `code ${code}`}): ${stderr.text().trim().slice(-500)}`);
    });
  }

  private async runAgent(task: CallTask, sink: ProgressSink): Promise<CallOutcome> {
    const guard = this.guard(this.agent!, task);
    try {
      return await callAgent(this.channel!, task, sink, async (initMs, runMs) => {
        this.alive = false;
        return guard.verdict(initMs, runMs);
      });
    } finally {
      guard.stop();
    }
  }

  private async runExec(task: CallTask, sink: ProgressSink): Promise<CallOutcome> {
    const env = callEnv(task);
    const runStart = performance.now();
    const child = this.spawn(['sh', '-c', this.runtime.run], env, [], functionEnv(task));
    const stdout = new CappedOutput(this.options.outputCapBytes);
    const stderr = new CappedOutput(this.options.outputCapBytes);
    child.stdout?.on('data', (d: Buffer) => stdout.push(d));
    const reports = new ExecReports(stderr, sink);
    child.stderr?.on('data', (d: Buffer) => reports.push(d));
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(env.FERRY_PARAMS);
    const guard = this.guard(child, task);
    const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
    reports.end();
    guard.stop();
    const runMs = performance.now() - runStart;
    const logs = { stdout: stdout.text(), stderr: stderr.text(), truncated: stdout.truncated || stderr.truncated };
    const verdict = guard.verdict(0, runMs);
    if (verdict) return { ...verdict, logs };
    if (code === 0) return { status: 'DONE', result: execResult(logs.stdout), error: null, logs, timings: { initMs: 0, runMs }, exitCode: code };
    return exitedNonZero(code ?? 'by signal', logs, 0, runMs, reports.final);
  }

  /** Kills `child`'s process group at the timeout or when it uses more memory than allowed. */
  private guard(child: ChildProcess, task: CallTask): { stop(): void; verdict(initMs: number, runMs: number): CallOutcome | null } {
    let reason: 'timeout' | 'memory' | null = null;
    const limit = task.memoryMb * MiB;
    const timer = setTimeout(() => {
      reason = 'timeout';
      this.alive = false;
      killTree(child);
    }, task.timeoutMs);
    const poll = setInterval(() => {
      if (child.pid === undefined) return;
      void treeRssBytes(child.pid).then((rss) => {
        if (rss > limit && reason === null) {
          reason = 'memory';
          this.alive = false;
          killTree(child);
        }
      });
    }, MEMORY_POLL_MS);
    return {
      stop: () => {
        clearTimeout(timer);
        clearInterval(poll);
      },
      verdict: (initMs, runMs) =>
        reason === 'timeout' ? timedOut(task, initMs, runMs) : reason === 'memory' ? outOfMemory(task, initMs, runMs) : null,
    };
  }
}

function killTree(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

