import type { DbMsgType, DbParsedContent, DbReplyContent } from '../../shared/protocol/db-messages.js';
import type { CallStatus } from '../../shared/protocol/domain.js';

/** Every DB request but the daemon's own (`ping`): what a store must answer. */
export type StoreRequest = Exclude<DbMsgType, 'ping'>;

/** One operation per request, with the request's parsed content and its reply. */
export type StoreOperations = { [K in StoreRequest]: (content: DbParsedContent[K]) => Promise<DbReplyContent[K]> };

/**
 * Where the DB daemon keeps Ferry's state. Two stores keep the same promises (the conformance
 * suite runs against each): LevelDB, embedded, for one host; PostgreSQL, for state shared by
 * several api hosts, each with a DB daemon of its own.
 */
export interface CallStore {
  readonly kind: 'level' | 'postgres';
  readonly ops: StoreOperations;
  /** Calls by status now (the metrics gauge reads it at each scrape). */
  callsByStatus(): Promise<Record<CallStatus, number>>;
  /** Starts the store's background passes (retention): after the daemon listens, so a long first pass does not hold up its start. */
  start(): void;
  /** Stops the passes and closes the store; the daemon answers nothing after. */
  close(): Promise<void>;
  /** What the daemon's `listening` line says of the store. */
  readonly facts: Record<string, unknown>;
}
