import { callLogger, type Logger } from '../../shared/logger.js';
import { dbRequestSchemas, type DbReplyContent } from '../../shared/protocol/db-messages.js';
import type { Call } from '../../shared/protocol/domain.js';
import type { Refusals } from '../../shared/refusals.js';
import type { Handlers } from '../../shared/transport/rpc-server.js';
import { ApiKeys } from './api-keys.js';
import type { Calls } from './calls.js';
import { Catalog } from './catalog.js';
import type { Groups } from './groups.js';
import { SessionPages } from './session-pages.js';
import type { Retention } from './retention.js';
import type { Store } from './store.js';

/** Every DB operation, wired to the collection that serves it. */
export function dbHandlers(
  store: Store,
  calls: Calls,
  groups: Groups,
  retention: Retention,
  refusals: Refusals,
  /** Counts each call record written (the daemon's metrics). */
  onCallWrite: (write: 'create' | 'create-and-update' | 'update') => void,
): Handlers<typeof dbRequestSchemas, DbReplyContent> {
  const catalog = new Catalog(store);
  const pages = new SessionPages(store, groups);
  const apiKeys = new ApiKeys(store);
  return {
    ping: async () => ({ now: Date.now(), refused: refusals.snapshot() }),
    registerRuntime: (spec) => catalog.registerRuntime(spec),
    getRuntime: ({ name }) => catalog.getRuntime(name),
    listRuntimes: () => catalog.listRuntimes(),
    deleteRuntime: ({ name }) => catalog.deleteRuntime(name),
    putFunction: (spec) => catalog.putFunction(spec),
    getFunction: (ref) => catalog.getFunction(ref),
    listFunctions: () => catalog.listFunctions(),
    listFunctionVersions: ({ name }) => catalog.listFunctionVersions(name),
    deleteFunction: ({ name }) => catalog.deleteFunction(name),
    createCall: async (spec, { log }) => {
      const call = await calls.create(spec);
      if (!call.replayed) onCallWrite(spec.update ? 'create-and-update' : 'create');
      return told(log, 'call stored', call);
    },
    updateCall: async (req, { log }) => {
      const call = await calls.update(req);
      onCallWrite('update');
      return told(log, 'call update stored', call);
    },
    getCall: (ref) => calls.read(ref),
    listCalls: (query) => calls.list(query),
    getCounters: async () => ({
      lastCallNum: store.counters.lastCallNum,
      callsByStatus: { ...store.counters.callsByStatus },
      oldestCall: await calls.oldest(),
    }),
    callStats: async ({ fromMs, toMs, failures }) => ({
      slices: await calls.stats.read(fromMs, toMs),
      recentFailures: await calls.recentFailures(failures),
      callsByStatus: { ...store.counters.callsByStatus },
    }),
    createGroup: (spec) => groups.create(spec),
    getGroup: async ({ id }) => groups.get(id),
    listGroups: (query) => groups.list(query),
    cancelGroup: ({ id }) => groups.cancel(id),
    groupMade: ({ id }) => groups.made(id),
    listGroupsBeingMade: () => groups.beingMade(),
    startGroup: ({ id }) => groups.markStarted(id),
    nextGroupPage: ({ id }) => pages.next(id),
    getGroupPage: ({ id, page }) => pages.get(id, page),
    purgeExpired: () => retention.runNow(),
    createApiKey: (spec) => apiKeys.create(spec),
    getApiKey: ({ keyId }) => apiKeys.get(keyId),
    listApiKeys: () => apiKeys.list(),
    revokeApiKey: ({ keyId }) => apiKeys.revoke(keyId),
    bootstrapAdminKey: (spec) => apiKeys.bootstrapAdmin(spec),
  };
}

/** A call's write, at debug under its request id (a line per write is too many for info). */
function told<C extends Call>(log: Logger, what: string, call: C): C {
  if (log.isLevelEnabled('debug')) callLogger(log, { callId: call.id, requestId: call.requestId }).debug({ status: call.status, attempt: call.attempt }, what);
  return call;
}
