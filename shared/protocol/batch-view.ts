import type { CallStatus } from './domain.js';
import type { GroupCounts } from './group.js';

/** A batch job as the api shows it (`/v1/batches`), shared with the dashboard. */

export const BatchState = { running: 'running', combining: 'combining', done: 'done', failed: 'failed', cancelled: 'cancelled' } as const;
export type BatchState = (typeof BatchState)[keyof typeof BatchState];

export interface BatchView {
  id: string;
  state: BatchState;
  worker: string;
  combiner: string;
  numBatches: number;
  counts: GroupCounts;
  startTime: string;
  elapsedSecs: number;
  combinerCallId: string | null;
  combinerResult: unknown;
  /** Why a batch failed without (or before) its combiner ran; null otherwise. */
  error: string | null;
}

/** One batch's partial result, as the results view and the combiner see it. */
export interface BatchResult {
  batchId: number;
  startIndex: number;
  endIndex: number;
  status: CallStatus;
  /** The worker's answer (JSON when it parses); null once `resultTtlSecs` have passed since it ended, or while unfinished. */
  result: unknown;
  /** True when the result was dropped for its age. */
  expired: boolean;
}
