import { customAlphabet } from 'nanoid';
import { z } from 'zod';
import type { CallStatus } from './domain.js';

/**
 * Groups: calls made and followed together (a run of one function N times now; sessions and
 * batches later). The DB keeps each group's counts with every status change of its calls, so
 * a group's state survives any restart and is read without a scan.
 */
export const GroupKind = { run: 'run', session: 'session', batch: 'batch' } as const;
export type GroupKind = (typeof GroupKind)[keyof typeof GroupKind];
export const groupKindSchema = z.enum(['run', 'session', 'batch']);

/** Letters and digits only, like call ids: a group id is safe in a URL, a key, a command line. */
export const groupIdSchema = z.string().regex(/^[A-Za-z0-9]{8,64}$/, 'must be 8 to 64 letters and digits');

/** A new group id: 21 letters and digits (see call-id.ts for why no `-` or `_`). */
export const newGroupId = customAlphabet('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 21);

/** A group's calls per status; a status no call is in is absent. */
export type GroupCounts = Partial<Record<CallStatus, number>>;

/** A group as the DB stores it. Times are epoch milliseconds. */
export interface Group {
  id: string;
  kind: GroupKind;
  /** The function its calls run, `name@version`. */
  function: string;
  /** What its kind needs to know about it (a run: its params). */
  spec: unknown;
  /** Calls in the group once it is fully made. */
  total: number;
  counts: GroupCounts;
  /** When the first of its calls started running; null until one has. */
  firstStartedAt: number | null;
  /** When the last of its calls to end ended; null until one has. */
  lastFinishedAt: number | null;
  createdAt: number;
  /** When it was cancelled as a whole; null if it was not. */
  cancelledAt: number | null;
  /** A session: when it was started (its held calls dispatched); null or absent until then. */
  startedAt?: number | null;
  /** The API key that made it (its calls carry it as `invokedBy`); null or absent when auth was off. */
  createdBy?: string | null;
  /** The request id of the request that made it: the calls it makes itself carry it. Null or absent on older groups. */
  requestId?: string | null;
  /** The last finish sequence given to one of its calls (see `Call.finishSeq`); absent before the first. */
  finishSeq?: number;
}

/**
 * A page of a group's ended calls (a session's results): those whose finish sequence is in
 * (`from`, `to`], fixed when the page was made, in finish order.
 */
export interface GroupResultPage {
  groupId: string;
  page: number;
  from: number;
  to: number;
  callIds: string[];
  createdAt: number;
}

export interface GroupPage {
  groups: Group[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  nextCursor: string | null;
}

/** A list cursor: the creation time and id of the last group of the previous page. */
export const groupCursorSchema = z.string().regex(/^\d{16}![A-Za-z0-9]{8,64}$/, 'must be the nextCursor of a previous page');
