import { z } from 'zod';
import type { RefusedCounts } from '../refusals.js';
import { callErrorSchema, callLogsSchema, callOutcomeSchema, callTimingsSchema, metricsSchema, progressSchema } from './call-outcome.js';
import type { StatsBucket } from './call-stats.js';
import { executionPatchSchema } from './execution.js';
import {
  callStatusSchema,
  nameSchema,
  retryPolicySchema,
  runtimeSpecSchema,
  sha256Schema,
  type Call,
  type CallStatus,
  type FunctionVersion,
  type Runtime,
} from './domain.js';
import { envMapSchema, sealedSecretsSchema } from './function-env.js';
import { keyIdSchema, keyNameSchema, roleSchema, type ApiKeyRecord, type ApiKeyView } from './api-key.js';
import { groupCursorSchema, groupIdSchema, groupKindSchema, type Group, type GroupPage, type GroupResultPage } from './group.js';
import { requestIdSchema } from './request-id.js';

/**
 * The DB daemon's operations: the request content of each, validated at the boundary, and the
 * reply content it answers with. `DbRequest` is the discriminated union on `msgType`.
 */

const name = z.object({ name: nameSchema });
const empty = z.object({}).passthrough();

/** `dice` or `dice@3`: a function name, optionally pinned to one version. */
export const functionRefSchema = z.object({
  name: z.string().min(1).max(140),
  version: z.number().int().min(1).optional(),
});

/** Fields an updateCall may set: every outcome field (a new one needs no change here) and the call's own. */
const callPatchSchema = z
  .object({
    ...callOutcomeSchema.shape,
    status: callStatusSchema,
    error: callErrorSchema.nullable(),
    logs: callLogsSchema.nullable(),
    timings: callTimingsSchema.nullable(),
    attempt: z.number().int().min(1),
    workerId: z.string().nullable(),
    progress: progressSchema.nullable(),
    metrics: metricsSchema.nullable(),
    startedAt: z.number().nullable(),
    finishedAt: z.number().nullable(),
    nextAttemptAt: z.number().nullable(),
    failures: z.number().int().min(0),
    deadLetter: z.boolean(),
  })
  .partial()
  .strict();

/** Fields an updateCall may set. */
export type CallPatch = z.input<typeof callPatchSchema>;

const newKeySchema = z.object({
  keyId: keyIdSchema,
  hash: sha256Schema,
  name: keyNameSchema.nullable().default(null),
  role: roleSchema,
  expiresAt: z.number().int().min(0).nullable().default(null),
  createdBy: keyIdSchema.nullable().default(null),
});

const leaseNameSchema = z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'a lease name is lower-case letters, digits and dashes');
const leaseHolderSchema = z.string().min(1).max(128);

export const dbRequestSchemas = {
  ping: empty,
  registerRuntime: runtimeSpecSchema,
  getRuntime: name,
  listRuntimes: empty,
  deleteRuntime: name,
  putFunction: z.object({
    name: nameSchema,
    runtime: nameSchema,
    sha256: sha256Schema,
    size: z.number().int().min(0),
    timeoutMs: z.number().int().min(1).max(24 * 3600_000).default(60_000),
    memoryMb: z.number().int().min(16).max(65_536).default(256),
    retry: retryPolicySchema.nullable().default(null),
    stuckAfterMs: z.number().int().min(100).max(7 * 24 * 3600_000).nullable().default(null),
    env: envMapSchema.default({}),
    secrets: sealedSecretsSchema.default({}),
    /** Start from the latest version's env and secrets; names given here replace theirs. */
    keepEnv: z.boolean().default(false),
  }),
  getFunction: functionRefSchema,
  listFunctions: empty,
  listFunctionVersions: name,
  deleteFunction: name,
  createCall: z.object({
    /**
     * The caller picks the call's nanoid, so a create resent after a lost reply is answered with
     * the call it made the first time instead of making a second one.
     */
    id: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'must be 8 to 64 characters of A-Z a-z 0-9 _ -'),
    funcName: nameSchema,
    version: z.number().int().min(1),
    params: z.unknown().optional(),
    sessionId: nameSchema.optional(),
    /** The group it belongs to (it must exist), and its place in it from 1. */
    groupId: groupIdSchema.optional(),
    groupIndex: z.number().int().min(1).optional(),
    /** Stored HELD (run only once dispatched) instead of PENDING. */
    hold: z.boolean().optional(),
    /** The API key that invoked it (for a group's call, the key that made the group). */
    invokedBy: keyIdSchema.optional(),
    /** The request id of the HTTP request that made it (for a group's call, see `Call.requestId`). */
    requestId: requestIdSchema.optional(),
    /**
     * With a key: a create with the same key and function within `ttlMs` answers the call the
     * first made (`replayed: true`), or IDEMPOTENCY_CONFLICT when `paramsHash` differs.
     */
    idempotency: z
      .object({ key: z.string().min(1).max(256), paramsHash: z.string().min(1).max(128), ttlMs: z.number().int().min(1) })
      .optional(),
    /**
     * What happened to the call before its create was written (a sync call that started, or
     * ended, within a few milliseconds of its dispatch): stored in one write, as created and
     * then changed by `set` and `execution` as an updateCall would change it.
     */
    update: z.object({ set: callPatchSchema, execution: executionPatchSchema }).optional(),
  }),
  updateCall: z.object({
    id: z.string().min(1),
    /** Compare-and-set: every given field must match the stored call, or the update is refused. */
    expect: z
      .object({ status: z.union([callStatusSchema, z.array(callStatusSchema).min(1)]), attempt: z.number().int() })
      .partial()
      .default({}),
    set: callPatchSchema,
    /** A change to one execution (added when it is the first write about that attempt), in the same write. */
    execution: executionPatchSchema.optional(),
  }),
  getCall: z.union([z.object({ id: z.string().min(1) }), z.object({ callNum: z.number().int().min(1) })]),
  listCalls: z.object({
    funcName: nameSchema.optional(),
    status: callStatusSchema.optional(),
    sessionId: nameSchema.optional(),
    groupId: groupIdSchema.optional(),
    /** Only calls in (true) or out of (false) the dead letters. */
    deadLetter: z.boolean().optional(),
    limit: z.number().int().min(1).max(1000).default(50),
    /** Opaque: the `nextCursor` of the previous page. */
    cursor: z.string().regex(/^\d{1,16}$/).optional(),
    /** Only calls whose current execution is (or was last) on this node. */
    nodeId: z.string().min(1).max(64).optional(),
    /** Only calls created at or after this (epoch ms). */
    from: z.number().int().min(0).optional(),
    /** Only calls created at or before this (epoch ms). */
    to: z.number().int().min(0).optional(),
    /** The call this id or callNum names; else calls whose params or result hold this text (any case). */
    q: z.string().min(1).max(256).optional(),
  }),
  getCounters: empty,
  /** Calls started and ended per slice of [fromMs, toMs), and the latest failures. */
  callStats: z.object({ fromMs: z.number().int().min(0), toMs: z.number().int().min(0), failures: z.number().int().min(0).max(100) }),
  /** Makes a group with no calls yet (its calls name it in createCall); an id that exists answers that group. */
  createGroup: z.object({
    id: groupIdSchema,
    kind: groupKindSchema,
    function: z.string().min(1).max(160),
    spec: z.unknown().optional(),
    total: z.number().int().min(0).max(1_000_000),
    /** The API key that made it: its calls carry it as `invokedBy`. */
    createdBy: keyIdSchema.optional(),
    /** The request id of the request that made it: the calls it makes itself carry it. */
    requestId: requestIdSchema.optional(),
  }),
  getGroup: z.object({ id: groupIdSchema }),
  /** Newest first. */
  listGroups: z.object({
    kind: groupKindSchema.optional(),
    limit: z.number().int().min(1).max(1000).default(50),
    cursor: groupCursorSchema.optional(),
  }),
  /** Its calls are all made: the group leaves the groups being made. */
  groupMade: z.object({ id: groupIdSchema }),
  /** Groups whose making has not been marked done (an api that died while making one left it so). */
  listGroupsBeingMade: empty,
  /** Marks a group cancelled (the first time only; its calls are cancelled one by one by the api). */
  cancelGroup: z.object({ id: groupIdSchema }),
  /** Marks a group started (a session: the first time only; its held calls are dispatched by the api). */
  startGroup: z.object({ id: groupIdSchema }),
  /** Makes a group's next result page: its calls ended since the last page, by finish sequence (null: none). */
  nextGroupPage: z.object({ id: groupIdSchema }),
  /** A result page made before, the same every time. */
  getGroupPage: z.object({ id: groupIdSchema, page: z.number().int().min(1) }),
  /** Runs a retention pass now (it also runs on its own timer): ended calls past the retention, expired idempotency keys. */
  purgeExpired: empty,
  /** Stores a new API key (its hash only); CONFLICT when the id is taken. */
  createApiKey: newKeySchema,
  /** A key with its hash, to check a key shown to the api against. */
  getApiKey: z.object({ keyId: keyIdSchema }),
  /** Every key, revoked and expired ones too, oldest first, without their hashes. */
  listApiKeys: empty,
  /** Marks a key revoked (the first time only); answers it without its hash. */
  revokeApiKey: z.object({ keyId: keyIdSchema }),
  /** Stores this admin key only if the store holds no key at all: of two apis starting at once, one makes it. */
  bootstrapAdminKey: z.object({ keyId: keyIdSchema, hash: sha256Schema, name: keyNameSchema }),
  /**
   * Takes or renews the lease `name` for `holder` for `ttlMs` (by the store's clock): granted when
   * it is free, expired, or already the holder's. A new holder gets the next epoch. Answers the
   * lease as it stands, granted or not.
   */
  takeLease: z.object({ name: leaseNameSchema, holder: leaseHolderSchema, ttlMs: z.number().int().min(100).max(600_000), info: z.record(z.string(), z.string().max(512)).default({}) }),
  /** Gives the lease up at once when `holder` holds it (a clean stop: the next holder need not wait for it to expire). */
  dropLease: z.object({ name: leaseNameSchema, holder: leaseHolderSchema }),
} as const;

export type DbMsgType = keyof typeof dbRequestSchemas;
export type DbRequestContent = { [K in DbMsgType]: z.input<(typeof dbRequestSchemas)[K]> };
export type DbParsedContent = { [K in DbMsgType]: z.output<(typeof dbRequestSchemas)[K]> };

/** A group's result page with its calls as they are now, in finish order. */
export type GroupResultPageReply = Omit<GroupResultPage, 'callIds'> & { calls: Call[] };

export interface CallPage {
  calls: Call[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  nextCursor: string | null;
  /** Calls the request looked at (at most the store's scan bound). */
  scanned: number;
}

export interface DbCallStats {
  /** Slices some call touched, oldest first. */
  slices: StatsBucket[];
  /** The calls that ended failed latest, newest first. */
  recentFailures: Call[];
  callsByStatus: Record<CallStatus, number>;
}

export interface DbCounters {
  lastCallNum: number;
  callsByStatus: Record<CallStatus, number>;
  /** The oldest call the store still keeps, or null when it keeps none. */
  oldestCall: { callNum: number; createdAt: number } | null;
}

/** A lease as the store holds it (see takeLease). */
export interface Lease {
  name: string;
  holder: string;
  /** Goes up by one each time the lease changes holder: what a holder's acts are fenced by. */
  epoch: number;
  /** Milliseconds left before it expires, by the store's clock (0 when it has). */
  expiresInMs: number;
  /** What the holder told others (the scheduling api: its URL). */
  info: Record<string, string>;
  /** Whether the asker holds it now. */
  mine: boolean;
}

export interface DbReplyContent {
  ping: { now: number; refused: RefusedCounts };
  registerRuntime: Runtime;
  getRuntime: Runtime;
  listRuntimes: Runtime[];
  deleteRuntime: { deleted: true };
  putFunction: FunctionVersion;
  getFunction: FunctionVersion;
  listFunctions: FunctionVersion[];
  listFunctionVersions: FunctionVersion[];
  deleteFunction: { deletedVersions: number };
  /** `replayed` when an idempotency key answered a call made before. */
  createCall: Call & { replayed?: boolean };
  updateCall: Call;
  getCall: Call;
  listCalls: CallPage;
  getCounters: DbCounters;
  callStats: DbCallStats;
  createGroup: Group;
  getGroup: Group;
  listGroups: GroupPage;
  cancelGroup: Group;
  groupMade: Group;
  listGroupsBeingMade: Group[];
  startGroup: Group;
  nextGroupPage: GroupResultPageReply | null;
  getGroupPage: GroupResultPageReply;
  purgeExpired: { removedCalls: number; removedKeys: number };
  createApiKey: ApiKeyView;
  getApiKey: ApiKeyRecord;
  listApiKeys: ApiKeyView[];
  revokeApiKey: ApiKeyView;
  /** `key` is the key stored, or null when a key existed already (nothing was stored). */
  bootstrapAdminKey: { key: ApiKeyView | null };
  takeLease: Lease;
  dropLease: { dropped: boolean };
}

export type DbRequest = { [K in DbMsgType]: { msgType: K; content: DbRequestContent[K] } }[DbMsgType];
