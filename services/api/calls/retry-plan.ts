import type { CallError } from '../../../shared/protocol/call-outcome.js';
import type { Call, RetryPolicy } from '../../../shared/protocol/domain.js';

/** What a failure leads to: another execution (no sooner than `nextAttemptAt`), or the end. */
export type RetryPlan = { again: true; failures: number; nextAttemptAt: number | null } | { again: false; failures: number };

/**
 * After a failure of the function itself (ERROR, TIMEOUT, STUCK): another execution while the
 * call's retry policy has attempts left, after a back-off of `backoffMs × backoffFactor^(n−1)`
 * (n: failures so far, at most `maxBackoffMs`); never for an error the function marked final.
 */
export function planAfterFailure(call: Pick<Call, 'failures'>, policy: RetryPolicy | null | undefined, error: CallError | null, now: number): RetryPlan {
  const failures = (call.failures ?? 0) + 1;
  if (!policy || error?.final === true || failures >= policy.maxAttempts) return { again: false, failures };
  const waitMs = Math.min(policy.maxBackoffMs, policy.backoffMs * policy.backoffFactor ** (failures - 1));
  return { again: true, failures, nextAttemptAt: waitMs > 0 ? now + Math.round(waitMs) : null };
}

/**
 * Executions given up for the infrastructure's sake (node lost or restarted, could not run the
 * call), the current one included: limited by FERRY_MAX_ATTEMPTS, never charged to the policy.
 */
export function lossesWith(call: Pick<Call, 'executions' | 'attempt'> | null, attempt: number): number {
  if (!call?.executions) return attempt;
  return call.executions.filter((e) => e.attempt < attempt && (e.state === 'LOST' || e.state === 'FAILED')).length + 1;
}
