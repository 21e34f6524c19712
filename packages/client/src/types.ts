/**
 * What the /v1 routes take and answer (the OpenAPI document at /v1/openapi.json describes the
 * same). The views the api builds come from shared/protocol, the one place both sides read them.
 */
import type { ApiKeyView, Role } from '../../../shared/protocol/api-key.js';
import type { CallView } from '../../../shared/protocol/call-view.js';
import type { CallLogs, CallStatus } from '../../../shared/protocol/domain.js';
import type { Execution } from '../../../shared/protocol/execution.js';

export type { ApiKeyView, Role, Whoami } from '../../../shared/protocol/api-key.js';
export type { BatchRequest, BatchResult, BatchState, BatchView } from '../../../shared/protocol/batch-view.js';
export type { Progress } from '../../../shared/protocol/call-outcome.js';
export type { CallView } from '../../../shared/protocol/call-view.js';
export type { CallLogs, CallStatus, FunctionView, RetryPolicy, Runtime, RuntimeSpec } from '../../../shared/protocol/domain.js';
export type { Execution } from '../../../shared/protocol/execution.js';
export type { HealthView } from '../../../shared/protocol/health-view.js';
export type { NodeView } from '../../../shared/protocol/node-view.js';
export type { RunDetail, RunStatus, RunView } from '../../../shared/protocol/run-view.js';
export type { SessionState, SessionView } from '../../../shared/protocol/session-view.js';

/** A page of a cursor-paginated list: its `nextCursor` reads the next page, null on the last. */
export type Page<K extends string, T> = { [key in K]: T[] } & { nextCursor: string | null };

/** `limit` and `cursor` of a paginated list. */
export interface PageQuery {
  /** How many, from 1 to 1000 (the server's default: 50). */
  limit?: number;
  /** The `nextCursor` of the page before. */
  cursor?: string;
}

/** The filters of the call listings. */
export interface CallFilter {
  funcName?: string;
  status?: CallStatus;
  sessionId?: string;
  /** Calls whose current execution is (or was last) on this node. */
  nodeId?: string;
  /** Calls created at or after / at or before, epoch ms. */
  from?: number;
  to?: number;
  /** An id or callNum, else text in the params or result (a bounded scan: a page may hold fewer calls, with `nextCursor`). */
  q?: string;
}

export type CallPage = Page<'calls', CallView> & { scanned?: number };

export type { CallSummary, ClusterStatsView, StatsStep } from '../../../shared/protocol/cluster-view.js';
import type { CallSummary } from '../../../shared/protocol/cluster-view.js';
import type { Progress } from '../../../shared/protocol/call-outcome.js';

/** An event of `GET /v1/events`: a call made or changed, or a running call's progress. */
export type ClusterEvent = { event: 'call'; data: CallSummary } | { event: 'progress'; data: { id: string; progress: Progress } };

/** A call just accepted (202): it runs, or waits, on its own. */
export interface CallRef {
  id: string;
  callNum: number;
  status: CallStatus;
}

/**
 * What an invoke answers: the whole call (200) once it finished (with `wait`), or when an
 * Idempotency-Key made it before (`replayed`, as it stands); else (202) the call accepted.
 */
export type Invocation = { status: 200; call: CallView; replayed: boolean } | { status: 202; call: CallRef; replayed: false };

export interface InvokeOptions {
  /** Wait for the end, bounded by the function's timeout (or `timeoutMs`): 202 if it has not ended by then. */
  wait?: boolean;
  /** With `wait`, wait at most this long. */
  timeoutMs?: number;
  /** Group the call into a session. */
  sessionId?: string;
  /** Store it HELD: it runs once {@link FerryClient.dispatchCall} says so. */
  hold?: boolean;
  /** The same key for the same function answers the call made first (IDEMPOTENCY_CONFLICT with other params). */
  idempotencyKey?: string;
}

/**
 * A push's fields (`POST /v1/functions/:name`): times in ms, memory in MiB. Left out, a field
 * keeps the cluster's default.
 */
export interface PushFields {
  runtime: string;
  timeoutMs?: number;
  memoryMb?: number;
  /** Executions of the function in all (turns the retry policy on); 1: no retry. */
  retryMaxAttempts?: number;
  retryBackoffMs?: number;
  retryBackoffFactor?: number;
  retryMaxBackoffMs?: number;
  /** An execution reporting nothing for this long is killed as STUCK. */
  stuckAfterMs?: number;
  /** Variables of the function's process, shown by the API. */
  env?: Record<string, string>;
  /** Secret variables: stored sealed, never shown (versions list them by name). */
  secrets?: Record<string, string>;
  /** Start from the latest version's env and secrets, those given here replacing theirs. */
  keepEnv?: boolean;
}

export interface PushOptions {
  /** Called as the bundle's bytes go out. */
  onProgress?: (sentBytes: number, totalBytes: number) => void;
}

export interface KeyRequest {
  role: Role;
  name?: string;
  /** It stops working this long from now. */
  expiresInSecs?: number;
  /** It stops working then: epoch ms, or an ISO 8601 date (not with expiresInSecs). */
  expiresAt?: number | string;
}

/** A key just made: its view, and the key itself, shown this once. */
export type ApiKeyCreated = ApiKeyView & { key: string };

/** A session's result page: every call ended since the page before, in the order they ended. */
export interface SessionResultPage {
  groupId: string;
  /** Null when no call ended since the page before. */
  page: number | null;
  from?: number;
  to?: number;
  createdAt?: number;
  calls: CallView[];
}

export interface ExecutionList {
  id: string;
  status: CallStatus;
  executions: Execution[];
}

export type CallLogsView = CallLogs & { id: string; status: CallStatus };
