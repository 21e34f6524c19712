import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, FerryError } from '../../../shared/errors.js';
import type { Logger } from '../../../shared/logger.js';
import { CappedOutput } from '../capped-output.js';
import type { CallTask } from '../call-task.js';
import type { Driver, PreparedFunction, RuntimeSpec, Sandbox, SandboxOptions } from './driver.js';
import { ProcessSandbox } from './process-sandbox.js';
import { pathExists } from '../path-exists.js';

const DEPENDENCIES_TIMEOUT_MS = 10 * 60_000;

/** Where the agents live in this checkout (the process driver runs them from here). */
const runtimesDir = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'runtimes');
    if (existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  return path.resolve('runtimes');
})();

/** The agent command for a runtime image on a host with no containers, by the image's language. */
export function agentCommand(runtime: RuntimeSpec): { argv: string[]; dir: string } | null {
  if (/python/i.test(runtime.image)) {
    const dir = path.join(runtimesDir, 'python', 'agent');
    return { argv: ['python3', '-B', '-u', path.join(dir, 'agent.py')], dir };
  }
  if (/node/i.test(runtime.image)) {
    const dir = path.join(runtimesDir, 'node', 'agent');
    return { argv: [process.execPath, path.join(dir, 'agent.cjs')], dir };
  }
  return null;
}

/** What the installed bubblewrap can do for a sandbox. */
export interface BwrapSupport {
  /** `--size` before `--tmpfs`: a size-limited /tmp. */
  tmpSize: boolean;
  /** A user namespace with a chosen uid and gid inside (`--unshare-user --uid --gid`). */
  userns: boolean;
  /** `--disable-userns`: no further user namespaces inside the sandbox. */
  disableUserns: boolean;
}

/** Asks the host's bubblewrap what it can do; null when it is not installed. */
function probeBwrap(): BwrapSupport | null {
  const help = spawnSync('bwrap', ['--help'], { encoding: 'utf8' });
  if (help.status !== 0) return null;
  const text = `${help.stdout}${help.stderr}`;
  // Some hosts forbid user namespaces (a sysctl, a setuid bwrap): try one.
  const userns = spawnSync('bwrap', ['--ro-bind', '/', '/', '--unshare-user', '--uid', '65534', '--gid', '65534', 'true']).status === 0;
  return { tmpSize: text.includes('--size'), userns, disableUserns: userns && text.includes('--disable-userns') };
}

/** What a process sandbox does not hold a call to on this host, for the start-up warning. */
function unenforcedLimits(bwrap: BwrapSupport | null): string[] {
  const always = [
    'a CPU limit (no cgroup: FERRY_MB_PER_CPU is not applied)',
    'a pids limit (FERRY_PIDS_LIMIT is not applied)',
    'a hard memory limit (memory is polled every 100 ms and the call killed past it)',
  ];
  if (!bwrap) {
    return [...always, 'network isolation', 'a read-only root filesystem', 'a private /tmp', 'an unprivileged user (install bubblewrap for these)'];
  }
  return [
    ...always,
    ...(bwrap.tmpSize ? [] : ['a size limit on /tmp (FERRY_TMP_MB: this bubblewrap has no --size)']),
    bwrap.userns
      ? "hiding the host's files: a call reads (never writes) what the worker's own user can, as that user owns the sandbox's user namespace"
      : 'an unprivileged user (bubblewrap cannot make a user namespace here)',
  ];
}

/**
 * Runs functions as child processes in a fresh temp folder per call, for hosts with no Docker
 * engine; inside bubblewrap (no network, read-only host and code folder, private size-limited
 * /tmp, an unprivileged uid in a user namespace) when `bwrap` is installed. Limits: timeout
 * (process group killed), output caps, and memory, watched through /proc; what it cannot hold a
 * call to is in {@link notEnforced}.
 */
export class ProcessDriver implements Driver {
  readonly kind = 'process' as const;
  readonly bwrap: BwrapSupport | null;
  readonly isolation: string;
  readonly notEnforced: string[];

  constructor(
    private readonly nodeId: string,
    private readonly dir: string,
    private readonly log: Logger,
  ) {
    this.bwrap = probeBwrap();
    this.isolation = this.bwrap ? 'processes inside bubblewrap' : 'plain processes (install bubblewrap to isolate them)';
    this.notEnforced = unenforcedLimits(this.bwrap);
  }

  async listImages(): Promise<string[]> {
    return [];
  }

  async prepare(task: CallTask, codeDir: string): Promise<PreparedFunction> {
    const rt = task.runtime;
    const warmKey = `${task.function}@${task.version}`;
    const deps = rt.dependencies.trim();
    if (rt.protocol === 'agent' && !agentCommand(rt)) {
      throw new FerryError(ErrorCode.NOT_FOUND, `no agent for runtime image "${rt.image}" on this process-driver node`);
    }
    if (deps === '') return { warmKey, key: '', runtime: rt, codeDir, artifact: codeDir, codeInArtifact: true };
    const key = createHash('sha256').update(JSON.stringify([deps, task.sha256])).digest('hex').slice(0, 24);
    const artifact = path.join(this.dir, 'prepared', key);
    if (await pathExists(artifact)) return { warmKey, key: '', runtime: rt, codeDir, artifact, codeInArtifact: true };
    const building = `${artifact}.building`;
    await rm(building, { recursive: true, force: true });
    await mkdir(path.dirname(artifact), { recursive: true });
    await cp(codeDir, building, { recursive: true });
    const stderr = new CappedOutput(64 * 1024);
    const code = await new Promise<number>((resolve) => {
      const child = spawn('sh', ['-c', deps], { cwd: building, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, FERRY_CODE_DIR: building } });
      child.stderr.on('data', (d: Buffer) => stderr.push(d));
      const timer = setTimeout(() => child.kill('SIGKILL'), DEPENDENCIES_TIMEOUT_MS);
      child.on('close', (c) => {
        clearTimeout(timer);
        resolve(c ?? 1);
      });
    });
    if (code !== 0) {
      await rm(building, { recursive: true, force: true });
      throw new FerryError(ErrorCode.BAD_REQUEST, `dependencies step "${deps}" exited ${code}: ${stderr.text().slice(-2000)}`);
    }
    await cp(building, artifact, { recursive: true });
    await rm(building, { recursive: true, force: true });
    this.log.info({ fn: warmKey, artifact }, 'function prepared');
    return { warmKey, key: '', runtime: rt, codeDir, artifact, codeInArtifact: true };
  }

  /** Preparing without a dependencies step is already instant here. */
  async quickPrepare(): Promise<PreparedFunction | null> {
    return null;
  }

  async createSandbox(prepared: PreparedFunction, task: CallTask, options: SandboxOptions): Promise<Sandbox> {
    return ProcessSandbox.create(prepared, task, options, { bwrap: this.bwrap, nodeDir: this.dir });
  }

  async createRuntimeSandbox(runtime: RuntimeSpec, options: SandboxOptions): Promise<Sandbox> {
    if (runtime.protocol === 'agent' && !agentCommand(runtime)) throw new Error(`no agent for runtime image ${runtime.image}`);
    return ProcessSandbox.createForRuntime(runtime, options, { bwrap: this.bwrap, nodeDir: this.dir });
  }

  /** Process sandboxes die with their miniworker; only temp folders can be left. */
  async removeLeftovers(nodeId: string, ownerId?: string): Promise<number> {
    if (ownerId === undefined && nodeId === this.nodeId) await rm(path.join(this.dir, 'sandboxes'), { recursive: true, force: true });
    return 0;
  }
}

