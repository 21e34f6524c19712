import { callLogger, type Logger } from '../../shared/logger.js';
import { dbRequestSchemas, type DbReplyContent } from '../../shared/protocol/db-messages.js';
import type { Call } from '../../shared/protocol/domain.js';
import type { Refusals } from '../../shared/refusals.js';
import type { Handlers } from '../../shared/transport/rpc-server.js';
import type { StoreOperations } from './call-store.js';

/** Every DB request, answered by the store; the daemon adds its own `ping`, call write counts and debug lines. */
export function dbHandlers(
  ops: StoreOperations,
  refusals: Refusals,
  /** Counts each call record written (the daemon's metrics). */
  onCallWrite: (write: 'create' | 'create-and-update' | 'update') => void,
): Handlers<typeof dbRequestSchemas, DbReplyContent> {
  return {
    ...ops,
    ping: async () => ({ now: Date.now(), refused: refusals.snapshot() }),
    createCall: async (spec, { log }) => {
      const call = await ops.createCall(spec);
      if (!call.replayed) onCallWrite(spec.update ? 'create-and-update' : 'create');
      return told(log, 'call stored', call);
    },
    updateCall: async (req, { log }) => {
      const call = await ops.updateCall(req);
      onCallWrite('update');
      return told(log, 'call update stored', call);
    },
  };
}

/** A call's write, at debug under its request id (a line per write is too many for info). */
function told<C extends Call>(log: Logger, what: string, call: C): C {
  if (log.isLevelEnabled('debug')) callLogger(log, { callId: call.id, requestId: call.requestId }).debug({ status: call.status, attempt: call.attempt }, what);
  return call;
}
