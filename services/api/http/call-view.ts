import type { CallView } from '../../../shared/protocol/call-view.js';
import type { Call } from '../../../shared/protocol/domain.js';

export function callView(call: Call): CallView {
  const { executions, ...rest } = call;
  return { ...rest, currentExecution: executions?.at(-1) ?? null };
}
