import { z } from 'zod';
import { callErrorSchema, metricsSchema, progressSchema, type CallError, type Metrics, type Progress } from './call-outcome.js';

/**
 * One attempt of a call. A call's executions are kept oldest first; the last is its current
 * one. Reports from a node are fenced by execution: one for any other attempt is dropped.
 */
export const ExecutionState = {
  /** Sent to a node, not yet reported running. */
  PENDING: 'PENDING',
  RUNNING: 'RUNNING',
  DONE: 'DONE',
  ERROR: 'ERROR',
  TIMEOUT: 'TIMEOUT',
  /** The node could not run it (a retryable failure): the call went on to another attempt. */
  FAILED: 'FAILED',
  /** Its node was lost or restarted: the call went on to another attempt. */
  LOST: 'LOST',
  /** Stopped by a cancel while it ran. */
  KILLED: 'KILLED',
  /** Cancelled on its node before it started. */
  CANCELLED: 'CANCELLED',
  /** Killed for reporting nothing for its function's `stuckAfterMs`. */
  STUCK: 'STUCK',
} as const;
export type ExecutionState = (typeof ExecutionState)[keyof typeof ExecutionState];
export const executionStateSchema = z.enum(['PENDING', 'RUNNING', 'DONE', 'ERROR', 'TIMEOUT', 'FAILED', 'LOST', 'KILLED', 'CANCELLED', 'STUCK']);

export interface Execution {
  /** `<callId>.<attempt>`. */
  executionId: string;
  attempt: number;
  nodeId: string | null;
  state: ExecutionState;
  /** When it was sent to its node. */
  createdAt: number;
  startedAt: number | null;
  updatedAt: number;
  finishedAt: number | null;
  progress: Progress | null;
  metrics: Metrics | null;
  failureReason: CallError | null;
}

/** What one write changes of one execution, named by its attempt; unnamed fields stay. */
export const executionPatchSchema = z
  .object({
    attempt: z.number().int().min(1),
    nodeId: z.string().nullable().optional(),
    state: executionStateSchema.optional(),
    createdAt: z.number().optional(),
    startedAt: z.number().nullable().optional(),
    finishedAt: z.number().nullable().optional(),
    progress: progressSchema.nullable().optional(),
    metrics: metricsSchema.nullable().optional(),
    failureReason: callErrorSchema.nullable().optional(),
  })
  .strict();
export type ExecutionPatch = z.input<typeof executionPatchSchema>;

export const executionId = (callId: string, attempt: number): string => `${callId}.${attempt}`;

/**
 * `executions` with `patch` applied: the execution of that attempt changed, or added (in attempt
 * order) when it is the first write about it. The store and the api's early answers both use it.
 */
export function applyExecutionPatch(callId: string, executions: readonly Execution[], patch: ExecutionPatch, now: number): Execution[] {
  const { attempt } = patch;
  const known = executions.find((e) => e.attempt === attempt);
  const base: Execution = known ?? {
    executionId: executionId(callId, attempt),
    attempt,
    nodeId: null,
    state: 'PENDING',
    createdAt: now,
    startedAt: null,
    updatedAt: now,
    finishedAt: null,
    progress: null,
    metrics: null,
    failureReason: null,
  };
  const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
  const next: Execution = { ...base, ...defined, updatedAt: now };
  const rest = executions.filter((e) => e.attempt !== attempt);
  return [...rest, next].sort((a, b) => a.attempt - b.attempt);
}
