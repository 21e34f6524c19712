import type { CallStatus } from '../../../shared/protocol/domain.js';
import type { Group, GroupCounts } from '../../../shared/protocol/group.js';

/** Where a session is: appending, running what it holds, killed, or every call of it ended. */
export const SessionState = { open: 'open', started: 'started', killed: 'killed', finished: 'finished' } as const;
export type SessionState = (typeof SessionState)[keyof typeof SessionState];

export interface SessionView {
  id: string;
  state: SessionState;
  /** Its calls per status (a status no call is in is absent). */
  counts: GroupCounts;
  /** Calls appended to it so far. */
  total: number;
  createdAt: number;
  startedAt: number | null;
  /** When its last call ended, once it is finished (or killed with every call ended); else null. */
  finishedAt: number | null;
  /** When it was killed; null if it was not. */
  killedAt: number | null;
}

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
