/** The shapes of the /v1 replies the dashboard reads: the api's own types where shared/ holds them. */
import type { BatchResult, BatchView } from '../../shared/protocol/batch-view.js';
import type { CallError, Metrics, Progress } from '../../shared/protocol/call-outcome.js';
import type { CallView } from '../../shared/protocol/call-view.js';
import type { CallSummary, ClusterStatsView, StatsStep } from '../../shared/protocol/cluster-view.js';
import type { CallStatus, FunctionView } from '../../shared/protocol/domain.js';
import type { Execution } from '../../shared/protocol/execution.js';
import type { GroupCounts } from '../../shared/protocol/group.js';
import type { RunDetail, RunView } from '../../shared/protocol/run-view.js';
import type { SessionView } from '../../shared/protocol/session-view.js';

export type { BatchResult, BatchView, CallError, CallStatus, CallSummary, Execution, Metrics, Progress, RunDetail, RunView, SessionView };
export type Counts = GroupCounts;
export type FunctionVersion = FunctionView;

export const CALL_STATUSES: readonly CallStatus[] = ['HELD', 'PENDING', 'RUNNING', 'DONE', 'ERROR', 'TIMEOUT', 'KILLED', 'CANCELLED'];
export const ENDED: readonly CallStatus[] = ['DONE', 'ERROR', 'TIMEOUT', 'KILLED', 'CANCELLED'];
export const isEnded = (s: CallStatus): boolean => ENDED.includes(s);

export type Role = 'admin' | 'developer' | 'invoker' | 'reader';

export interface Whoami {
  keyId: string | null;
  name: string | null;
  role: Role | null;
  auth: 'on' | 'off';
}

export type Call = CallView;
export type Stats = ClusterStatsView;
export type StatsPoint = StatsStep;

export interface CallPage<T = Call> {
  calls: T[];
  nextCursor: string | null;
  scanned?: number;
}

export interface Logs {
  stdout: string;
  stderr: string;
  log: string;
  truncated: boolean;
}

export interface ResultPage {
  page: number | null;
  from?: number;
  to?: number;
  calls: Call[];
}

export interface Runtime {
  name: string;
  image: string;
  path: string;
  run: string;
  protocol: string;
  dependencies?: string;
}

export interface ApiKey {
  keyId: string;
  name: string | null;
  role: Role;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  createdBy?: string | null;
}

/** What /v1/nodes shows of a node (shared/protocol/node-view.ts, whose imports reach Node-only code). */
export interface WarmContainer {
  runtime: string;
  fn: string | null;
  busy: boolean;
}

export interface NodeView {
  nodeId: string;
  driver: string;
  capacity: { maxContainers: number; memoryMb: number };
  running: number;
  warm: WarmContainer[];
  images: string[];
  lastHeartbeatAgoMs: number;
  connectedAt: number;
}
