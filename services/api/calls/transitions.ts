import type { CallStatus } from '../../../shared/protocol/domain.js';

/**
 * The call state machine: from each status, the statuses a call may move to.
 * - `HELD → PENDING` a dispatch; `PENDING → PENDING` a requeue (the attempt goes up; with a retry
 *   back-off the call waits until its `nextAttemptAt`);
 * - `CANCELLED` a call stopped before it ran, `KILLED` one stopped while it ran (or stuck with no
 *   attempt left);
 * - an ended call that is not DONE may be run again (`POST /v1/calls/:id/retry`): back to PENDING.
 */
const NEXT: Record<CallStatus, readonly CallStatus[]> = {
  HELD: ['PENDING', 'CANCELLED'],
  PENDING: ['PENDING', 'RUNNING', 'DONE', 'ERROR', 'TIMEOUT', 'CANCELLED'],
  RUNNING: ['PENDING', 'DONE', 'ERROR', 'TIMEOUT', 'KILLED'],
  DONE: [],
  ERROR: ['PENDING'],
  TIMEOUT: ['PENDING'],
  KILLED: ['PENDING'],
  CANCELLED: ['PENDING'],
};

const FINAL: ReadonlySet<CallStatus> = new Set<CallStatus>(['DONE', 'ERROR', 'TIMEOUT', 'KILLED', 'CANCELLED']);

/** Statuses of a call on its way to a node or running there: reports about it may land. */
export const IN_FLIGHT: readonly CallStatus[] = ['PENDING', 'RUNNING'];

/** Ended calls that may be run again. */
export const RETRYABLE: readonly CallStatus[] = ['ERROR', 'TIMEOUT', 'KILLED', 'CANCELLED'];

export function isFinal(status: CallStatus): boolean {
  return FINAL.has(status);
}

/**
 * `from` as the compare-and-set of a move to `to`, once each of its statuses is checked against
 * the machine: a move the machine does not allow is a bug here, not a race, so it throws.
 */
export function move(from: readonly CallStatus[], to: CallStatus): CallStatus[] {
  for (const f of from) if (!NEXT[f].includes(to)) throw new Error(`no move from ${f} to ${to} in the call state machine`);
  return [...from];
}

/** Every allowed move, for the docs and the test that walks them. */
export function allMoves(): [CallStatus, CallStatus][] {
  return (Object.keys(NEXT) as CallStatus[]).flatMap((from) => NEXT[from].map((to): [CallStatus, CallStatus] => [from, to]));
}
