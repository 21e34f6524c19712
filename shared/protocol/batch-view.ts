/** A batch job as `POST /v1/batches` takes it, as `GET /v1/batches/:id` shows it, and its partial results. */
import type { CallStatus } from './domain.js';
import type { GroupCounts } from './group.js';

export interface BatchRequest {
  /** Called once per batch with {jobId, batchId, startIndex, endIndex, jobParameters}. */
  worker: string;
  /** Called once at the end with {jobId, startTime, elapsedSecs, jobParameters, results}. */
  combiner: string;
  startIndex: number;
  /** Exclusive. */
  endIndex: number;
  batchSize: number;
  maxParallelism: number;
  /** Past it, unfinished batches are cancelled and the combiner called. */
  timeoutSecs: number;
  /** jobParameters (any JSON). */
  params?: unknown;
  resultTtlSecs?: number;
  /** Failed batches that still let the combiner run: a count, or a percentage like "10%". */
  toleratedFailures?: number | string;
}

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
