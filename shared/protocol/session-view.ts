import type { GroupCounts } from './group.js';

/** A session as the api shows it (`/v1/sessions`), shared with the CLI. */

/** Where a session is: appending, running what it holds, killed, or every call of it ended. */
export const SessionState = { open: 'open', started: 'started', killed: 'killed', finished: 'finished' } as const;
export type SessionState = (typeof SessionState)[keyof typeof SessionState];

/** A session as `GET /v1/sessions/:id` shows it. Times are epoch ms. */
export interface SessionView {
  id: string;
  state: SessionState;
  /** Its calls per status (a status no call is in is absent). */
  counts: GroupCounts;
  /** Calls appended to it so far. */
  total: number;
  createdAt: number;
  startedAt: number | null;
  /** When its last call ended, once it is finished; else null. */
  finishedAt: number | null;
  /** When it was killed; null if it was not. */
  killedAt: number | null;
}
