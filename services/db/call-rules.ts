import { ConflictError } from '../../shared/errors.js';
import type { DbParsedContent } from '../../shared/protocol/db-messages.js';
import { CallStatus, currentNodeOf, type Call } from '../../shared/protocol/domain.js';
import { applyExecutionPatch } from '../../shared/protocol/execution.js';

/**
 * What a call record is and how it changes, whichever store keeps it: a new call from its create,
 * a compare-and-set update, when it ended, what a search looks in.
 */

/**
 * Statuses a call ends in. The api keeps its own list of them (services never import each
 * other); a call in one of these is what retention may remove once it is old enough.
 */
export const ENDED_STATUSES: readonly CallStatus[] = [
  CallStatus.DONE,
  CallStatus.ERROR,
  CallStatus.TIMEOUT,
  CallStatus.KILLED,
  CallStatus.CANCELLED,
];
const ENDED: ReadonlySet<CallStatus> = new Set(ENDED_STATUSES);

export const isEnded = (status: CallStatus): boolean => ENDED.has(status);

/**
 * When an ended call ended, for retention. A call ended without a `finishedAt` (a writer that
 * did not set one) counts as ended when it was created, so it is never kept forever.
 */
export const endedAt = (call: Call): number => call.finishedAt ?? call.createdAt;

/** A call as stored before `nextAttemptAt`, `failures`, `deadLetter` and `idempotencyKey` existed reads with their defaults. */
export function withDefaults(call: Call): Call {
  if (call.failures !== undefined && call.deadLetter !== undefined && call.nextAttemptAt !== undefined && call.idempotencyKey !== undefined) {
    return call;
  }
  return { nextAttemptAt: null, failures: 0, deadLetter: false, idempotencyKey: null, ...call };
}

type CreateSpec = DbParsedContent['createCall'];

/** The record a create makes: PENDING (HELD with `hold`), attempt 1, with what `spec.update` says happened before it was written. */
export function newCall(spec: CreateSpec, callNum: number, createdAt: number, now: number): Call {
  const call: Call = {
    id: spec.id,
    callNum,
    funcName: spec.funcName,
    version: spec.version,
    params: spec.params ?? null,
    status: spec.hold === true ? CallStatus.HELD : CallStatus.PENDING,
    result: '',
    error: null,
    logs: null,
    attempt: 1,
    workerId: null,
    sessionId: spec.sessionId ?? null,
    ...(spec.groupId !== undefined ? { groupId: spec.groupId, groupIndex: spec.groupIndex ?? null } : {}),
    progress: null,
    metrics: null,
    createdAt,
    startedAt: null,
    finishedAt: null,
    executions: [],
    nextAttemptAt: null,
    failures: 0,
    deadLetter: false,
    idempotencyKey: spec.idempotency?.key ?? null,
    invokedBy: spec.invokedBy ?? null,
    requestId: spec.requestId ?? null,
  };
  const update = spec.update;
  return update ? ({ ...call, ...update.set, executions: applyExecutionPatch(call.id, [], update.execution, now) } as Call) : call;
}

/**
 * The call `req` makes of `current`, if `current` still matches `req.expect`; throws CONFLICT
 * (not retryable) otherwise, so a stale writer (an old attempt, a lost worker) loses.
 */
export function updatedCall(current: Call, req: DbParsedContent['updateCall'], now: number): Call {
  const { status: wantStatus, attempt: wantAttempt } = req.expect;
  const statusOk =
    wantStatus === undefined || (Array.isArray(wantStatus) ? wantStatus.includes(current.status) : wantStatus === current.status);
  if (!statusOk || (wantAttempt !== undefined && wantAttempt !== current.attempt)) {
    throw new ConflictError(
      `call ${current.id} is ${current.status} at attempt ${current.attempt}; ` +
        `expected ${JSON.stringify(wantStatus ?? 'any status')} at attempt ${wantAttempt ?? 'any'}`,
    );
  }
  const next: Call = { ...current, ...req.set };
  if (req.execution) next.executions = applyExecutionPatch(next.id, current.executions ?? [], req.execution, now);
  return next;
}

/** The text a search looks in: the params and the result as JSON, lower-cased. */
export function searchText(call: Call): string {
  const result = typeof call.result === 'string' ? call.result : JSON.stringify(call.result ?? null);
  return `${JSON.stringify(call.params ?? null)}\n${result}`.toLowerCase();
}

/** Every filter but the text, and the cursor, checked on the record: for the call `q` names exactly. */
export function matchesAll(query: DbParsedContent['listCalls'], c: Call): boolean {
  return (
    (query.funcName === undefined || c.funcName === query.funcName) &&
    (query.status === undefined || c.status === query.status) &&
    (query.sessionId === undefined || c.sessionId === query.sessionId) &&
    (query.groupId === undefined || c.groupId === query.groupId) &&
    (query.deadLetter === undefined || (c.deadLetter ?? false) === query.deadLetter) &&
    (query.nodeId === undefined || currentNodeOf(c) === query.nodeId) &&
    (query.from === undefined || c.createdAt >= query.from) &&
    (query.to === undefined || c.createdAt <= query.to) &&
    (query.cursor === undefined || c.callNum < Number(query.cursor))
  );
}

/** A list's `q` that names one call exactly: by its callNum when all digits, else by its id. */
export const namedBy = (q: string): { callNum: number } | { id: string } => (/^\d{1,16}$/.test(q) ? { callNum: Number(q) } : { id: q });
