import type { ApiKeyRecord, ApiKeyView } from '../../shared/protocol/api-key.js';
import type { DbCallStats, DbCounters, DbParsedContent as In, DbReplyContent as Out, Lease } from '../../shared/protocol/db-messages.js';
import type { Call, FunctionVersion, Runtime } from '../../shared/protocol/domain.js';
import type { Group, GroupPage } from '../../shared/protocol/group.js';
import type { StoreOperations } from './call-store.js';
import type { PassResult } from './pass-runner.js';

/** The parts of a store, by collection: each store has its own, with these methods. */
export interface StoreParts {
  catalog: {
    registerRuntime(spec: In['registerRuntime']): Promise<Runtime>;
    getRuntime(name: string): Promise<Runtime>;
    listRuntimes(): Promise<Runtime[]>;
    deleteRuntime(name: string): Promise<{ deleted: true }>;
    putFunction(spec: In['putFunction']): Promise<FunctionVersion>;
    getFunction(ref: In['getFunction']): Promise<FunctionVersion>;
    listFunctions(): Promise<FunctionVersion[]>;
    listFunctionVersions(name: string): Promise<FunctionVersion[]>;
    deleteFunction(name: string): Promise<{ deletedVersions: number }>;
  };
  calls: {
    create(spec: In['createCall']): Promise<Out['createCall']>;
    update(req: In['updateCall']): Promise<Call>;
    read(ref: In['getCall']): Promise<Call>;
    list(query: In['listCalls']): Promise<Out['listCalls']>;
  };
  groups: {
    create(spec: In['createGroup']): Promise<Group>;
    get(id: string): Group | Promise<Group>;
    list(query: In['listGroups']): Promise<GroupPage>;
    cancel(id: string): Promise<Group>;
    made(id: string): Promise<Group>;
    beingMade(): Promise<Group[]>;
    markStarted(id: string): Promise<Group>;
  };
  /** A session's result pages. */
  pages: {
    next(id: string): Promise<Out['nextGroupPage']>;
    get(id: string, page: number): Promise<Out['getGroupPage']>;
  };
  apiKeys: {
    create(spec: In['createApiKey']): Promise<ApiKeyView>;
    get(keyId: string): Promise<ApiKeyRecord>;
    list(): Promise<ApiKeyView[]>;
    revoke(keyId: string): Promise<ApiKeyView>;
    bootstrapAdmin(spec: In['bootstrapAdminKey']): Promise<{ key: ApiKeyView | null }>;
  };
  leases: {
    take(spec: In['takeLease']): Promise<Lease>;
    drop(spec: In['dropLease']): Promise<{ dropped: boolean }>;
  };
  /** Runs a retention pass now (or the one queued behind the running pass). */
  purge(): Promise<PassResult>;
  counters(): Promise<DbCounters>;
  stats(query: In['callStats']): Promise<DbCallStats>;
}

/** Every DB request answered by the part of the store it is about: the one mapping both stores share. */
export function storeOperations({ catalog, calls, groups, pages, apiKeys, leases, purge, counters, stats }: StoreParts): StoreOperations {
  return {
    registerRuntime: (spec) => catalog.registerRuntime(spec),
    getRuntime: ({ name }) => catalog.getRuntime(name),
    listRuntimes: () => catalog.listRuntimes(),
    deleteRuntime: ({ name }) => catalog.deleteRuntime(name),
    putFunction: (spec) => catalog.putFunction(spec),
    getFunction: (ref) => catalog.getFunction(ref),
    listFunctions: () => catalog.listFunctions(),
    listFunctionVersions: ({ name }) => catalog.listFunctionVersions(name),
    deleteFunction: ({ name }) => catalog.deleteFunction(name),
    createCall: (spec) => calls.create(spec),
    updateCall: (req) => calls.update(req),
    getCall: (ref) => calls.read(ref),
    listCalls: (query) => calls.list(query),
    getCounters: () => counters(),
    callStats: (query) => stats(query),
    createGroup: (spec) => groups.create(spec),
    getGroup: async ({ id }) => groups.get(id),
    listGroups: (query) => groups.list(query),
    cancelGroup: ({ id }) => groups.cancel(id),
    groupMade: ({ id }) => groups.made(id),
    listGroupsBeingMade: () => groups.beingMade(),
    startGroup: ({ id }) => groups.markStarted(id),
    nextGroupPage: ({ id }) => pages.next(id),
    getGroupPage: ({ id, page }) => pages.get(id, page),
    purgeExpired: () => purge(),
    createApiKey: (spec) => apiKeys.create(spec),
    getApiKey: ({ keyId }) => apiKeys.get(keyId),
    listApiKeys: () => apiKeys.list(),
    revokeApiKey: ({ keyId }) => apiKeys.revoke(keyId),
    bootstrapAdminKey: (spec) => apiKeys.bootstrapAdmin(spec),
    takeLease: (spec) => leases.take(spec),
    dropLease: (spec) => leases.drop(spec),
  };
}
