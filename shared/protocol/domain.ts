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
  createdAt: number;
}

export const CallStatus = {
  PENDING: 'PENDING',
  RUNNING: 'RUNNING',
  DONE: 'DONE',
  ERROR: 'ERROR',
  TIMEOUT: 'TIMEOUT',
  KILLED: 'KILLED',
  CANCELLED: 'CANCELLED',
} as const;
export type CallStatus = (typeof CallStatus)[keyof typeof CallStatus];
export const callStatusSchema = z.enum(['PENDING', 'RUNNING', 'DONE', 'ERROR', 'TIMEOUT', 'KILLED', 'CANCELLED']);

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
}
