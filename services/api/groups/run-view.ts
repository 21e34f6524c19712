import type { Call, CallStatus } from '../../../shared/protocol/domain.js';
import type { Group } from '../../../shared/protocol/group.js';
import { RunStatus, type RunDetail, type RunView } from '../../../shared/protocol/run-view.js';

export { RunStatus, type RunDetail, type RunView };

/** Statuses a call ends in (the DB keeps its own list: services never import each other). */
const ENDED: readonly CallStatus[] = ['DONE', 'ERROR', 'TIMEOUT', 'KILLED', 'CANCELLED'];

const sum = (counts: Group['counts'], statuses: readonly CallStatus[]): number => statuses.reduce((n, s) => n + (counts[s] ?? 0), 0);

export function runStatus(group: Group): RunStatus {
  const made = sum(group.counts, Object.keys(group.counts) as CallStatus[]);
  const ended = sum(group.counts, ENDED);
  // A cancelled run may hold fewer calls than asked for (its making stopped): those it holds count.
  const allEnded = ended === group.total || (group.cancelledAt !== null && ended === made);
  if (!allEnded) return group.firstStartedAt === null ? RunStatus.QUEUED : RunStatus.RUNNING;
  if (group.cancelledAt !== null) return group.firstStartedAt === null ? RunStatus.CANCELLED : RunStatus.KILLED;
  return (group.counts.DONE ?? 0) === group.total ? RunStatus.COMPLETE : RunStatus.ERROR;
}

export function runView(group: Group): RunView {
  const status = runStatus(group);
  const ended = status !== RunStatus.QUEUED && status !== RunStatus.RUNNING;
  const start = group.firstStartedAt;
  const end = ended ? group.lastFinishedAt : null;
  return {
    id: group.id,
    function: group.function,
    times: group.total,
    status,
    counts: group.counts,
    submittedAt: group.createdAt,
    start,
    end,
    duration: start !== null && end !== null ? end - start : null,
    cancelledAt: group.cancelledAt,
  };
}

export function runDetail(call: Call): RunDetail {
  const start = call.startedAt;
  const end = call.finishedAt;
  return {
    detailId: call.groupIndex ?? 0,
    callId: call.id,
    status: call.status,
    submittedAt: call.createdAt,
    start,
    end,
    duration: start !== null && end !== null ? end - start : null,
  };
}
