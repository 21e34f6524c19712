import type { Call } from '../../shared/protocol/domain.js';

/**
 * A call record as the store keeps it (PENDING, attempt 1, nothing run yet), with `extra` laid
 * over it: for tests that read or write records without a cluster. The job-engine fields are left
 * out on purpose where a test needs a record as an earlier Ferry stored it (`legacy: true`).
 */
export function callRecord(extra: Partial<Call> = {}, options: { legacy?: boolean } = {}): Call {
  return {
    id: 'V1StGXR8_Z5jdHi6B-myT',
    callNum: 7,
    funcName: 'dice',
    version: 1,
    params: { roll: '4d6' },
    status: 'PENDING',
    result: '',
    error: null,
    logs: null,
    attempt: 1,
    workerId: null,
    sessionId: null,
    progress: null,
    metrics: null,
    createdAt: 1_700_000_000_000,
    startedAt: null,
    finishedAt: null,
    ...(options.legacy ? {} : { nextAttemptAt: null, failures: 0, deadLetter: false, idempotencyKey: null }),
    ...extra,
  };
}
