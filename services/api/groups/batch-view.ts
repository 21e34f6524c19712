import type { Call, CallStatus } from '../../../shared/protocol/domain.js';
import type { BatchRequest, BatchResult } from '../../../shared/protocol/batch-view.js';
import type { Group } from '../../../shared/protocol/group.js';

/** Statuses a call ends in (the DB keeps its own list: services never import each other). */
export const ENDED: readonly CallStatus[] = ['DONE', 'ERROR', 'TIMEOUT', 'KILLED', 'CANCELLED'];

/** The most params a combiner gets (results included): past it the batch fails instead. */
export const MAX_COMBINER_PARAMS_BYTES = 4 * 1024 * 1024;

/**
 * What a batch group keeps as its `spec` (its worker is the group's `function`): the request with
 * every default filled in and the combiner pinned `name@version`.
 */
export type BatchSpec = Required<Omit<BatchRequest, 'worker'>>;

export const sumCounts = (counts: Group['counts'], statuses?: readonly CallStatus[]): number =>
  (statuses ?? (Object.keys(counts) as CallStatus[])).reduce((n, s) => n + (counts[s] ?? 0), 0);

/** Batch b's call: the group's id and the batch, so it is found by id alone and made at most once. */
export const batchCallId = (id: string, b: number): string => `${id}b${String(b).padStart(7, '0')}`;
/** The combiner's call: one id per batch, so it is made at most once whatever restarts. */
export const combinerCallId = (id: string): string => `${id}c`;

export const batchRange = (spec: BatchSpec, b: number): { startIndex: number; endIndex: number } => {
  const startIndex = spec.startIndex + b * spec.batchSize;
  return { startIndex, endIndex: Math.min(spec.endIndex, startIndex + spec.batchSize) };
};

/** How many failed batches still let the combiner run. */
export function toleratedCount(spec: BatchSpec, numBatches: number): number {
  const t = spec.toleratedFailures;
  if (typeof t === 'number') return t;
  return Math.floor((Number(t.slice(0, -1)) / 100) * numBatches);
}

/** JSON when the text parses (a worker answers JSON text), the text otherwise. */
export function parseResult(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export function batchResult(spec: BatchSpec, call: Call, now: number): BatchResult {
  const b = (call.groupIndex ?? 1) - 1;
  const expired = call.finishedAt !== null && call.finishedAt + spec.resultTtlSecs * 1000 <= now;
  const result = call.status === 'DONE' && !expired ? parseResult(call.result) : null;
  return { batchId: b, ...batchRange(spec, b), status: call.status, result, expired };
}
