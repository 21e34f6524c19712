import type { DbParsedContent } from '../../shared/protocol/db-messages.js';
import { CallStatus, type Call } from '../../shared/protocol/domain.js';
import type { Group } from '../../shared/protocol/group.js';
import { isEnded } from './call-rules.js';

/** A group with no calls yet, made at `createdAt`. */
export function newGroup(spec: DbParsedContent['createGroup'], createdAt: number): Group {
  return {
    id: spec.id,
    kind: spec.kind,
    function: spec.function,
    spec: spec.spec ?? null,
    total: spec.total,
    counts: {},
    firstStartedAt: null,
    lastFinishedAt: null,
    createdAt,
    cancelledAt: null,
    createdBy: spec.createdBy ?? null,
    requestId: spec.requestId ?? null,
  };
}

/**
 * Moves `group` as its call goes from `before` (null: a new call) to `after`: its counts, the
 * first start and the last end; stamps `after.finishSeq` (the group's next number) when the call
 * enters a final status. The store writes both with the call's change, so the order of ends never
 * depends on any host's clock. Answers false when the change does not touch the group.
 */
export function followGroup(group: Group, before: Call | null, after: Call): boolean {
  if (before !== null && before.status === after.status) return false;
  const counts = group.counts;
  if (before !== null) {
    const left = (counts[before.status] ?? 0) - 1;
    if (left > 0) counts[before.status] = left;
    else delete counts[before.status];
  }
  counts[after.status] = (counts[after.status] ?? 0) + 1;
  // A call may reach its end without a RUNNING write of its own (its start and end reported
  // together): its startedAt counts whenever it first shows.
  const startedAt = after.startedAt ?? (after.status === CallStatus.RUNNING ? Date.now() : null);
  if (startedAt !== null) {
    group.firstStartedAt = group.firstStartedAt === null ? startedAt : Math.min(group.firstStartedAt, startedAt);
  }
  if (isEnded(after.status) && !(before !== null && isEnded(before.status))) {
    group.finishSeq = (group.finishSeq ?? 0) + 1;
    after.finishSeq = group.finishSeq;
  } else if (!isEnded(after.status) && after.finishSeq != null) {
    after.finishSeq = null;
  }
  if (isEnded(after.status)) {
    const at = after.finishedAt ?? Date.now();
    group.lastFinishedAt = group.lastFinishedAt === null ? at : Math.max(group.lastFinishedAt, at);
  }
  return true;
}
