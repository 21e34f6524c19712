import { setTimeout as sleep } from 'node:timers/promises';
import type { DelayRangeMs } from '../../../shared/config.js';
import { CallErrorCode, callEnv, failedOutcome, timedOut, type CallOutcome, type CallTask } from '../call-task.js';
import type { PreparedFunction, Sandbox } from './driver.js';

/** One delay from `range`, in whole ms, each value between both ends equally likely. */
export function drawDelayMs(range: DelayRangeMs): number {
  return range.minMs + Math.floor(Math.random() * (range.maxMs - range.minMs + 1));
}

/**
 * A sandbox of the fake driver: holds nothing and runs nothing. A call waits its drawn delay and
 * ends DONE with its params as the result, or TIMEOUT when the delay reaches its timeout.
 */
export class FakeSandbox implements Sandbox {
  alive = true;
  /** Aborted when the sandbox is removed: a cancel removes it, and that must end the wait at once. */
  private readonly removed = new AbortController();

  constructor(
    public key: string,
    private readonly delay: DelayRangeMs,
  ) {}

  async adopt(prepared: PreparedFunction): Promise<void> {
    this.key = prepared.key;
  }

  async run(task: CallTask): Promise<CallOutcome> {
    const delayMs = drawDelayMs(this.delay);
    // A real call still running at its timeout is killed then: wait no longer than the timeout.
    const timesOut = delayMs >= task.timeoutMs;
    const start = performance.now();
    const waited = await sleep(Math.min(delayMs, task.timeoutMs), true, { signal: this.removed.signal }).catch(() => false);
    const runMs = performance.now() - start;
    if (!waited) return failedOutcome(CallErrorCode.SANDBOX_FAILED, 'the sandbox was removed before the call ended', 0, runMs);
    if (timesOut) {
      this.alive = false; // as a real sandbox killed at a timeout: the next call gets a new one
      return timedOut(task, 0, runMs);
    }
    return {
      status: 'DONE',
      // The very text an exec function reads as FERRY_PARAMS: `cat` as a function answers the same.
      result: callEnv(task).FERRY_PARAMS,
      error: null,
      logs: { stdout: '', stderr: '', truncated: false },
      timings: { initMs: 0, runMs },
      // What a real exec call that succeeded reports; agent calls have no exit code.
      ...(task.runtime.protocol === 'exec' ? { exitCode: 0 } : {}),
    };
  }

  async destroy(): Promise<void> {
    this.alive = false;
    this.removed.abort();
  }
}
