import { currentNodeOf, type Call } from '../../../shared/protocol/domain.js';
import { endedAt, isEnded } from '../call-rules.js';
import { keys } from './keys.js';
import type { BatchOp } from './write-queue.js';

/**
 * Every index entry that points at `call` as it stands. Derived from the record alone, so a
 * write keeps the indexes right by putting what the new record has and deleting what only the
 * old one had, in the same batch as the record.
 */
export function indexKeys(call: Call): string[] {
  const out = [keys.byNum(call.callNum), keys.byFn(call.funcName, call.callNum), keys.byStatus(call.status, call.callNum)];
  if (call.sessionId !== null) out.push(keys.bySession(call.sessionId, call.callNum));
  const node = currentNodeOf(call);
  if (node !== null) out.push(keys.byNode(node, call.callNum));
  if (call.groupId !== undefined && call.groupId !== null) {
    out.push(keys.byGroup(call.groupId, call.callNum));
    if (call.finishSeq !== undefined && call.finishSeq !== null && isEnded(call.status)) out.push(keys.byGroupFinish(call.groupId, call.finishSeq));
  }
  if (call.deadLetter === true) out.push(keys.deadLetter(call.callNum));
  if (isEnded(call.status)) out.push(keys.byEnd(endedAt(call), call.callNum));
  return out;
}

/** Batch ops that move the index entries of `before` to those of `after` (all of them when `before` is null). */
export function indexOps(before: Call | null, after: Call): BatchOp[] {
  const now = indexKeys(after);
  if (before === null) return now.map((key) => ({ type: 'put', key, value: after.id }));
  const was = indexKeys(before);
  const ops: BatchOp[] = [];
  for (const key of was) if (!now.includes(key)) ops.push({ type: 'del', key });
  for (const key of now) if (!was.includes(key)) ops.push({ type: 'put', key, value: after.id });
  return ops;
}
