import { z } from 'zod';
import type { CallError, CallLogs, CallOutcome, CallTimings, Metrics, Progress } from './call-outcome.js';
import type { Execution } from './execution.js';

/** Names of runtimes and functions: safe in URLs, file names, Docker tags and DB keys. */
export const nameSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]*$/, 'must start with a letter or digit and hold only letters, digits, ".", "_" and "-"');

export const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');

export const RuntimeProtocol = { exec: 'exec', agent: 'agent' } as const;
export type RuntimeProtocol = (typeof RuntimeProtocol)[keyof typeof RuntimeProtocol];

export const runtimeSpecSchema = z.object({
  name: nameSchema.optional(),
  image: z.string().min(1).max(256),
  path: z.string().min(1).max(1024).default('/ws'),
  dependencies: z.string().max(4096).default(''),
  run: z.string().min(1).max(4096),
  protocol: z.enum(['exec', 'agent']).default('exec'),
});
export type RuntimeSpec = z.input<typeof runtimeSpecSchema>;

/** A registered runtime: a container image and how to run code in it. */
export interface Runtime {
  name: string;
  image: string;
  path: string;
  dependencies: string;
  run: string;
  protocol: RuntimeProtocol;
  createdAt: number;
}

/** One pushed version of a function. Every push is a new version, numbered from 1. */
export interface FunctionVersion {
  name: string;
  runtime: string;
  version: number;
  sha256: string;
  size: number;
  /** A call of this version is killed after this long. */
  timeoutMs: number;
  /** Memory limit of one call, MiB. */
  memoryMb: number;
  /** How a failure of the function itself (ERROR, TIMEOUT, STUCK) is retried; null: not retried. */
  retry?: RetryPolicy | null;
  /** An execution that reports nothing (progress, metrics, log) for this long is killed as STUCK; null: never. */
  stuckAfterMs?: number | null;
  /** Variables set in the function's process (absent on versions pushed before env existed). */
  env?: Record<string, string>;
  /** Secret variables by name, each sealed by the api (see `function-env.ts`); never shown. */
  secrets?: Record<string, string>;
  createdAt: number;
}

/** A function version as the API shows it: its env, and its secrets by name only. */
export interface FunctionView extends Omit<FunctionVersion, 'env' | 'secrets'> {
  env: Record<string, string>;
  /** The names of its secret variables, sorted. */
  secrets: string[];
}

export const retryPolicySchema = z.object({
  /** Executions of the function in all, the first included (1: no retry). */
  maxAttempts: z.number().int().min(1).max(100),
  /** Wait before the second execution. */
  backoffMs: z.number().int().min(0).max(24 * 3600_000).default(1_000),
  /** Each later wait is the one before times this. */
  backoffFactor: z.number().min(1).max(10).default(2),
  /** No wait is longer than this. */
  maxBackoffMs: z.number().int().min(0).max(7 * 24 * 3600_000).default(3600_000),
});
export type RetryPolicy = z.output<typeof retryPolicySchema>;

export const CallStatus = {
  /** Stored, listed, not run until dispatched (`?hold=true`, then `POST /v1/calls/:id/dispatch`). */
  HELD: 'HELD',
  PENDING: 'PENDING',
  RUNNING: 'RUNNING',
  DONE: 'DONE',
  ERROR: 'ERROR',
  TIMEOUT: 'TIMEOUT',
  KILLED: 'KILLED',
  CANCELLED: 'CANCELLED',
} as const;
export type CallStatus = (typeof CallStatus)[keyof typeof CallStatus];
export const callStatusSchema = z.enum(['HELD', 'PENDING', 'RUNNING', 'DONE', 'ERROR', 'TIMEOUT', 'KILLED', 'CANCELLED']);

export type { CallError, CallLogs };

/** A call and everything the call store keeps about it. Times are epoch milliseconds. */
export interface Call extends Omit<CallOutcome, 'status' | 'error' | 'logs' | 'timings'> {
  id: string;
  callNum: number;
  funcName: string;
  version: number;
  params: unknown;
  status: CallStatus;
  error: CallError | null;
  logs: CallLogs | null;
  /** The current execution's attempt, from 1. */
  attempt: number;
  workerId: string | null;
  sessionId: string | null;
  /** The latest progress and metrics of the current execution. */
  progress: Progress | null;
  metrics: Metrics | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  /** Where a finished call's time went on its node, in ms. */
  timings?: CallTimings | null;
  /** Every attempt, oldest first (absent on calls stored before executions were kept). */
  executions?: Execution[];
  /** A PENDING call waiting out its retry back-off runs no sooner than this (epoch ms); else null. */
  nextAttemptAt?: number | null;
  /** Failures of the function itself charged to its retry policy since the call last started over. */
  failures?: number;
  /** It ended failed with its attempts used up: listed at /v1/dead-letters until retried. */
  deadLetter?: boolean;
  /** The group it belongs to (a run), and its place in it from 1; null/absent when none. */
  groupId?: string | null;
  groupIndex?: number | null;
  /**
   * Its place in its group's order of ends: the DB stamps the group's next number in the same
   * write that moves the call into a final status (never a clock), and clears it when the call
   * leaves that status (retried: it gets a new number when it ends again). Absent or null else.
   */
  finishSeq?: number | null;
  /** The `Idempotency-Key` it was invoked with, if any. */
  idempotencyKey?: string | null;
  /**
   * The id of the API key that invoked it; a call of a run, session or batch carries the key that
   * made the group. Null or absent when auth was off.
   */
  invokedBy?: string | null;
  /**
   * The request id of the HTTP request that made it (its `x-request-id`, or one the api made),
   * on every daemon's log lines about it; a call of a run or batch carries the id of the request
   * that made the group, a session's call that of its append. A retry keeps it. Null or absent
   * on calls stored before calls kept one.
   */
  requestId?: string | null;
}

/** The node of a call's current execution (the node it was last sent to); null before it was sent anywhere. */
export const currentNodeOf = (call: Call): string | null => call.executions?.at(-1)?.nodeId ?? call.workerId;
