import type { Call } from '../../../shared/protocol/domain.js';
import type { Execution } from '../../../shared/protocol/execution.js';

/** A call as the /v1 routes show it: its current execution beside it, the others at `/executions`. */
export type CallView = Omit<Call, 'executions'> & { currentExecution: Execution | null };

export function callView(call: Call): CallView {
  const { executions, ...rest } = call;
  return { ...rest, currentExecution: executions?.at(-1) ?? null };
}
