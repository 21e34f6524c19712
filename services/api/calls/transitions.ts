import type { CallStatus } from '../../../shared/protocol/domain.js';

/**
 * The call state machine: from each status, the statuses a call may move to. `PENDING → PENDING`
 * is a requeue (the attempt goes up). `CANCELLED` is a call stopped before it ran, `KILLED` one
 * stopped while it ran.
 */
const NEXT: Record<CallStatus, readonly CallStatus[]> = {
  HELD: ['PENDING', 'CANCELLED'],
  PENDING: ['PENDING', 'RUNNING', 'DONE', 'ERROR', 'TIMEOUT', 'CANCELLED'],
  RUNNING: ['PENDING', 'DONE', 'ERROR', 'TIMEOUT', 'KILLED'],
  DONE: [],
  ERROR: [],
  TIMEOUT: [],
  KILLED: [],
  CANCELLED: [],
};

const STATUSES = Object.keys(NEXT) as CallStatus[];

/** The statuses a call may be in for a move to `to`: the compare-and-set of that write. */
export function movableFrom(to: CallStatus): CallStatus[] {
  return STATUSES.filter((from) => NEXT[from].includes(to));
}

/** Statuses a call is still going in (a write that changes no status expects one of these). */
export const UNFINISHED: CallStatus[] = STATUSES.filter((s) => NEXT[s].length > 0);

export function isFinal(status: CallStatus): boolean {
  return NEXT[status].length === 0;
}
