import { createHash } from 'node:crypto';
import type { DriverKind, Dispatch } from '../../../shared/protocol/worker-messages.js';
import { functionEnv, type CallOutcome, type CallTask, type ProgressSink } from '../call-task.js';

export type RuntimeSpec = Dispatch['runtime'];

/**
 * A function made ready to run on this node: its code unpacked and its `dependencies` step done
 * once. Plain data, so the daemon prepares and a miniworker process runs.
 */
export interface PreparedFunction {
  /** `name@version`: what a warm sandbox is warm for, as the api sees it. */
  warmKey: string;
  /** Identifies code, runtime and artifact together: a sandbox is reused only for the same key. */
  key: string;
  runtime: RuntimeSpec;
  /** Unpacked code on the node. */
  codeDir: string;
  /** Docker: the image holding code and dependencies. Process: the folder holding them. */
  artifact: string;
  /** False while the artifact is the bare runtime image: the code is copied into each new sandbox. */
  codeInArtifact: boolean;
}

/** Key of a runtime-wide warm sandbox (preload `runtime`): ready for any function of `runtime`. */
export function runtimeKey(runtime: RuntimeSpec): string {
  return `runtime:${runtime.name}#${createHash('sha256').update(JSON.stringify(runtime)).digest('hex').slice(0, 12)}`;
}

/**
 * A function can move into a runtime-wide sandbox only when it has no dependencies step, and, on
 * an agent runtime, no variables: that sandbox's agent started before the function was known,
 * and the agent protocol cannot hand a running agent new ones (an exec call gets its own each run).
 */
export function fitsRuntimeSandbox(prepared: PreparedFunction, task: CallTask): boolean {
  if (prepared.runtime.dependencies.trim() !== '') return false;
  return prepared.runtime.protocol !== 'agent' || Object.keys(functionEnv(task)).length === 0;
}

/** One container (or process sandbox) owned by one miniworker; runs one call at a time. */
export interface Sandbox {
  /** The {@link PreparedFunction.key} it was made for, or a {@link runtimeKey} while runtime-wide. */
  readonly key: string;
  /** Moves a function's code into a runtime-wide sandbox, which then belongs to that function. */
  adopt(prepared: PreparedFunction, task: CallTask): Promise<void>;
  /** False once the sandbox can no longer run calls (killed at a timeout, crashed). */
  readonly alive: boolean;
  run(task: CallTask, sink: ProgressSink): Promise<CallOutcome>;
  /** Removes the container; safe to call twice. */
  destroy(): Promise<void>;
}

export interface SandboxOptions {
  nodeId: string;
  /** The miniworker owning the sandbox: labels its containers so they can be removed if it dies. */
  ownerId: string;
  /** Node-local folder for agent sockets. */
  socketDir: string;
  outputCapBytes: number;
  pidsLimit: number;
  /** Keep the sandbox for later calls (preload function/runtime) or remove it after one call. */
  reuse: boolean;
}

export interface Driver {
  readonly kind: DriverKind;
  /** One phrase for the start-up log line: how this node isolates calls. */
  readonly isolation: string;
  /** Images (or runtimes) this node can run, for the hello. */
  listImages(): Promise<string[]>;
  /** Done once per function version per node, in the worker daemon. */
  prepare(task: CallTask, codeDir: string): Promise<PreparedFunction>;
  /**
   * A way to run the function right away, before {@link prepare} has finished its slow step, or
   * null when there is none (a dependencies step must run first).
   */
  quickPrepare(task: CallTask, codeDir: string): Promise<PreparedFunction | null>;
  /** Done in a miniworker. */
  createSandbox(prepared: PreparedFunction, task: CallTask, options: SandboxOptions): Promise<Sandbox>;
  /** A warm sandbox of `runtime` holding no function yet (preload `runtime`). */
  createRuntimeSandbox(runtime: RuntimeSpec, options: SandboxOptions): Promise<Sandbox>;
  /** Removes sandboxes a dead owner (or a previous run of this node) left behind; returns how many. */
  removeLeftovers(nodeId: string, ownerId?: string): Promise<number>;
}
