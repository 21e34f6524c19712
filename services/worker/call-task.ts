import type { CallOutcome, Metrics, Progress } from '../../shared/protocol/call-outcome.js';
import { executionId } from '../../shared/protocol/execution.js';
import type { Dispatch } from '../../shared/protocol/worker-messages.js';

/** A call as a driver runs it: the api's dispatch as received. */
export type CallTask = Dispatch;

export type { CallOutcome };

export type CallEnvName = 'FERRY_PARAMS' | 'FERRY_CALL_ID' | 'FERRY_EXECUTION_ID' | 'FERRY_ATTEMPT';

/**
 * What an exec function finds in its environment about its call: the params (also on stdin),
 * and which call and attempt this run is, so it can key its own side effects by them.
 */
export function callEnv(task: Pick<CallTask, 'callId' | 'attempt' | 'params'>): Record<CallEnvName, string> {
  return {
    FERRY_PARAMS: JSON.stringify(task.params ?? null),
    FERRY_CALL_ID: task.callId,
    FERRY_EXECUTION_ID: executionId(task.callId, task.attempt),
    FERRY_ATTEMPT: String(task.attempt),
  };
}

/**
 * The variables its push gave the function, secrets among them, for the function's own process
 * only (names never collide with Ferry's: a push cannot use `FERRY_*`).
 */
export function functionEnv(task: Pick<CallTask, 'env' | 'secrets'>): Record<string, string> {
  return { ...task.env, ...task.secrets };
}

/** An exec run's whole environment from Ferry: the function's variables and its call's. */
export function execEnv(task: CallTask): Record<string, string> {
  return { ...functionEnv(task), ...callEnv(task) };
}

/** Reports a running call sends out while it runs (agent runtimes' SDK). */
export interface ProgressSink {
  progress(value: Progress): void;
  metrics(values: Metrics): void;
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

/** An exec function's result: its stdout, less the one newline `print` ends it with. */
export function execResult(stdout: string): string {
  return stdout.endsWith('\n') ? stdout.slice(0, stdout.endsWith('\r\n') ? -2 : -1) : stdout;
}

/** A call that ended without a result from the function. */
export function failedOutcome(
  code: string,
  message: string,
  initMs: number,
  runMs: number,
  status: 'ERROR' | 'TIMEOUT' = 'ERROR',
): CallOutcome {
  return { status, result: '', error: { code, message }, logs: { stdout: '', stderr: '', truncated: false }, timings: { initMs, runMs } };
}

export function timedOut(task: CallTask, initMs: number, runMs: number): CallOutcome {
  return failedOutcome(CallErrorCode.TIMEOUT, `call exceeded its timeout of ${task.timeoutMs} ms`, initMs, runMs, 'TIMEOUT');
}

export function outOfMemory(task: CallTask, initMs: number, runMs: number): CallOutcome {
  return failedOutcome(CallErrorCode.MEMORY_LIMIT, `function exceeded its memory limit of ${task.memoryMb} MiB and was killed`, initMs, runMs);
}

/**
 * The ERROR outcome of a function that exited non-zero, naming the last line it wrote to stderr;
 * `final` when the function said beforehand (`##ferry final`) that the failure is not worth a retry.
 */
export function exitedNonZero(code: number | string, logs: CallOutcome['logs'], initMs: number, runMs: number, final = false): CallOutcome {
  const tail = logs.stderr.trim().split('\n').slice(-1)[0] ?? '';
  const message = `function exited with code ${code}${tail ? `: ${tail.slice(0, 500)}` : ''}`;
  const error = { code: CallErrorCode.FUNCTION_ERROR, message, ...(final ? { final: true } : {}) };
  return { ...failedOutcome(error.code, message, initMs, runMs), error, logs, exitCode: typeof code === 'number' ? code : null };
}
