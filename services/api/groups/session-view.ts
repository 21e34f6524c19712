import type { CallStatus } from '../../../shared/protocol/domain.js';
import type { Group } from '../../../shared/protocol/group.js';
import { SessionState, type SessionView } from '../../../shared/protocol/session-view.js';

export { SessionState, type SessionView };

/** Statuses a call ends in (the DB keeps its own list: services never import each other). */
const ENDED: readonly CallStatus[] = ['DONE', 'ERROR', 'TIMEOUT', 'KILLED', 'CANCELLED'];

/** A session's calls: every call counted in the group, whatever its status (appends change it, so `total` is not stored). */
export const sessionTotal = (group: Group): number => Object.values(group.counts).reduce((n, c) => n + (c ?? 0), 0);

export function sessionView(group: Group): SessionView {
  const total = sessionTotal(group);
  const ended = ENDED.reduce((n, s) => n + (group.counts[s] ?? 0), 0);
  const startedAt = group.startedAt ?? null;
  const allEnded = total > 0 && ended === total;
  const state: SessionState =
    group.cancelledAt !== null ? SessionState.killed : startedAt === null ? SessionState.open : allEnded ? SessionState.finished : SessionState.started;
  return {
    id: group.id,
    state,
    counts: group.counts,
    total,
    createdAt: group.createdAt,
    startedAt,
    finishedAt: allEnded && startedAt !== null ? group.lastFinishedAt : null,
    killedAt: group.cancelledAt,
  };
}
