import { currentNodeOf, type Call, type CallStatus } from '../../../shared/protocol/domain.js';

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
