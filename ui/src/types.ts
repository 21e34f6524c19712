/** The shapes of the /v1 replies the dashboard reads (see the api's OpenAPI document). */

export const CALL_STATUSES = ['HELD', 'PENDING', 'RUNNING', 'DONE', 'ERROR', 'TIMEOUT', 'KILLED', 'CANCELLED'] as const;
export type CallStatus = (typeof CALL_STATUSES)[number];
export const ENDED: readonly CallStatus[] = ['DONE', 'ERROR', 'TIMEOUT', 'KILLED', 'CANCELLED'];
export const isEnded = (s: CallStatus): boolean => ENDED.includes(s);

export type Role = 'admin' | 'developer' | 'invoker' | 'reader';

export interface Whoami {
  keyId: string | null;
  name: string | null;
  role: Role | null;
  auth: 'on' | 'off';
}

/** A number in 0..1, or fields such as `{current, total}`. */
export type Progress = number | Record<string, number | string>;
export type Metrics = Record<string, number>;

export interface CallError {
  code: string;
  message: string;
}

export interface Execution {
  executionId: string;
  attempt: number;
  nodeId: string | null;
  state: string;
  startedAt: number | null;
  finishedAt: number | null;
  progress?: Progress | null;
  metrics?: Metrics | null;
  failureReason?: string | null;
}

export interface Call {
  id: string;
  callNum: number;
  funcName: string;
  version: number;
  params: unknown;
  status: CallStatus;
  result?: string;
  error: CallError | null;
  attempt: number;
  workerId: string | null;
  sessionId: string | null;
  groupId?: string | null;
  progress: Progress | null;
  metrics: Metrics | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  deadLetter?: boolean;
  invokedBy?: string | null;
  currentExecution?: Execution | null;
}

/** What `GET /v1/events` sends for a call at its creation and each change of status. */
export interface CallSummary {
  id: string;
  callNum: number;
  funcName: string;
  version: number;
  status: CallStatus;
  sessionId: string | null;
  groupId: string | null;
  nodeId: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  invokedBy?: string | null;
}

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

export type Counts = Partial<Record<CallStatus, number>>;

export interface StatsPoint {
  t: number;
  started: number;
  ended: number;
  failed: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface Stats {
  now: number;
  counts: Counts;
  queued: number;
  running: number;
  nodesUp: number;
  series: StatsPoint[];
  recentFailures: CallSummary[];
}

export interface SessionView {
  id: string;
  state: 'open' | 'started' | 'killed' | 'finished';
  counts: Counts;
  total: number;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  killedAt: number | null;
}

export interface ResultPage {
  page: number | null;
  from?: number;
  to?: number;
  calls: Call[];
}

export interface RunView {
  id: string;
  function: string;
  times: number;
  status: string;
  counts: Counts;
  submittedAt: number;
  start: number | null;
  end: number | null;
  duration: number | null;
  cancelledAt: number | null;
}

export interface RunDetail {
  detailId: number;
  callId: string;
  status: CallStatus;
  submittedAt: number;
  start: number | null;
  end: number | null;
  duration: number | null;
}

export interface BatchView {
  id: string;
  state: 'running' | 'combining' | 'done' | 'failed' | 'cancelled';
  worker: string;
  combiner: string;
  numBatches: number;
  counts: Counts;
  startTime: string;
  elapsedSecs: number;
  combinerCallId: string | null;
  combinerResult: unknown;
  error: string | null;
}

export interface BatchResult {
  batchId: number;
  startIndex: number;
  endIndex: number;
  status: CallStatus;
  result: unknown;
  expired: boolean;
}

export interface FunctionVersion {
  name: string;
  version: number;
  runtime: string;
  sha256?: string;
  size?: number;
  createdAt?: number;
  timeoutMs?: number | null;
  memoryMb?: number | null;
  stuckAfterMs?: number | null;
  retry?: Record<string, number> | null;
  env: Record<string, string>;
  secrets: string[];
}

export interface Runtime {
  name: string;
  image: string;
  path: string;
  run: string;
  protocol: string;
  dependencies?: string;
}

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

export interface ApiKey {
  keyId: string;
  name: string | null;
  role: Role;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  createdBy?: string | null;
}
