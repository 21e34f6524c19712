import type { Call } from './domain.js';
import type { Execution } from './execution.js';

/** A call as the /v1 routes show it: its current execution beside it, the others at `/executions`. */
export type CallView = Omit<Call, 'executions'> & { currentExecution: Execution | null };
