/** What the cluster-wide views show: a call in a line (the events stream, recent failures) and the statistics of `GET /v1/stats`. */
import { currentNodeOf, type Call, type CallStatus } from './domain.js';

/** A call in a line: what a dashboard lists, without its params, result, logs or executions. */
export interface CallSummary {
  id: string;
  callNum: number;
  funcName: string;
  version: number;
  status: CallStatus;
  sessionId: string | null;
  groupId: string | null;
  /** The node of its current execution (where it was last sent); null before it was sent anywhere. */
  nodeId: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  invokedBy: string | null;
}

export function callSummary(call: Call): CallSummary {
  return {
    id: call.id,
    callNum: call.callNum,
    funcName: call.funcName,
    version: call.version,
    status: call.status,
    sessionId: call.sessionId,
    groupId: call.groupId ?? null,
    nodeId: currentNodeOf(call),
    createdAt: call.createdAt,
    startedAt: call.startedAt,
    finishedAt: call.finishedAt,
    invokedBy: call.invokedBy ?? null,
  };
}

/** One step of a series: calls started and ended in [t, t + stepSecs), and how long the ended ones ran. */
export interface StatsStep {
  /** Start of the step, epoch ms (a multiple of the step). */
  t: number;
  started: number;
  ended: number;
  /** Ended ERROR, TIMEOUT or KILLED. */
  failed: number;
  /** Median and 99th percentile of finishedAt - startedAt of the calls that ended in the step, ms (within 5 %); null when none did. */
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface ClusterStatsView {
  now: number;
  windowSecs: number;
  stepSecs: number;
  /** Calls stored, by status. */
  counts: Record<CallStatus, number>;
  /** Calls waiting in the api's queue for a node. */
  queued: number;
  /** Calls sent to a node and not yet ended. */
  running: number;
  /** Worker nodes connected. */
  nodesUp: number;
  /** One step per `stepSecs`, oldest first, the last one holding now. */
  series: StatsStep[];
  /** The latest calls that ended failed, newest first. */
  recentFailures: CallSummary[];
}
