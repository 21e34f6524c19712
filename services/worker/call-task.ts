import type { Dispatch } from '../../shared/protocol/worker-messages.js';

/** A call as a driver runs it: the api's dispatch as received. */
export type CallTask = Dispatch;

export type CallStatusOutcome = 'DONE' | 'ERROR' | 'TIMEOUT';

/** What running a call produced. `error` is set unless the status is DONE. */
export interface CallOutcome {
  status: CallStatusOutcome;
  result: string;
  error: { code: string; message: string } | null;
  logs: { stdout: string; stderr: string; truncated: boolean };
  /** Time spent before the function ran (container start, code load) and running it, in ms. */
  initMs: number;
  runMs: number;
}

/** Reports a running call sends out while it runs (agent runtimes' SDK). */
export interface ProgressSink {
  progress(value: number): void;
  metrics(values: Record<string, number>): void;
  log(line: string): void;
}

/** Error codes a call can end with, beside the function's own. */
export const CallErrorCode = {
  FUNCTION_ERROR: 'FUNCTION_ERROR',
  TIMEOUT: 'TIMEOUT',
  MEMORY_LIMIT: 'MEMORY_LIMIT',
  DEPENDENCIES_FAILED: 'DEPENDENCIES_FAILED',
  BUNDLE_UNAVAILABLE: 'BUNDLE_UNAVAILABLE',
  BUNDLE_HASH_MISMATCH: 'BUNDLE_HASH_MISMATCH',
  IMAGE_MISSING: 'IMAGE_MISSING',
  SANDBOX_FAILED: 'SANDBOX_FAILED',
  AGENT_FAILED: 'AGENT_FAILED',
  MINIWORKER_DIED: 'MINIWORKER_DIED',
} as const;
