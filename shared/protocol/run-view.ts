import type { CallStatus } from './domain.js';
import type { GroupCounts } from './group.js';

/** A run of N as the api shows it (`/v1/runs`), shared with the CLI. */

/** A run's status as Stevedore names it, derived from its group's stored counts alone. */
export const RunStatus = {
  QUEUED: 'QUEUED',
  RUNNING: 'RUNNING',
  COMPLETE: 'COMPLETE',
  ERROR: 'ERROR',
  CANCELLED: 'CANCELLED',
  KILLED: 'KILLED',
} as const;
export type RunStatus = (typeof RunStatus)[keyof typeof RunStatus];

/** A run as `GET /v1/runs/:id` shows it. Times are epoch ms; `end` and `duration` only once every call has ended. */
export interface RunView {
  id: string;
  function: string;
  times: number;
  status: RunStatus;
  counts: GroupCounts;
  submittedAt: number;
  start: number | null;
  end: number | null;
  /** end − start, ms. */
  duration: number | null;
  cancelledAt: number | null;
}

/** One call of a run as `GET /v1/runs/:id/details` shows it. */
export interface RunDetail {
  /** The call's place in the run, 1..times. */
  detailId: number;
  callId: string;
  status: CallStatus;
  submittedAt: number;
  start: number | null;
  end: number | null;
  duration: number | null;
}

