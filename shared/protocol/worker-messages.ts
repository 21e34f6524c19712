import { z } from 'zod';
import { callOutcomeSchema, metricsSchema, progressSchema } from './call-outcome.js';
import { nameSchema, sha256Schema } from './domain.js';
import { envMapSchema } from './function-env.js';
import { requestIdSchema } from './request-id.js';

/**
 * The API ↔ worker channel: one-way typed messages (no request ids) on a DEALER (worker, routing
 * id = node id) to ROUTER (api) pair. Each direction is a discriminated union on `msgType`.
 * Every message about a call carries `(callId, attempt)`; the api drops reports whose attempt is
 * not the call's current one (fencing).
 */

/** Liveness: both sides send a heartbeat every interval; a peer silent for 3 intervals is gone. */
export const HEARTBEAT_INTERVAL_MS = 1_000;
export const HEARTBEAT_LIVENESS = 3;

const callRef = { callId: z.string().min(1).max(64), attempt: z.number().int().min(1) };

export const warmContainerSchema = z.object({
  runtime: nameSchema,
  /** `name@version` when the container holds one function's code, null for a runtime-wide one. */
  fn: z.string().nullable(),
  busy: z.boolean(),
});
export type WarmContainer = z.infer<typeof warmContainerSchema>;

export const nodeCapacitySchema = z.object({
  maxContainers: z.number().int().min(1),
  memoryMb: z.number().int().min(1),
});
export type NodeCapacity = z.infer<typeof nodeCapacitySchema>;

/**
 * How a node runs calls. `fake` runs nothing: every call ends DONE echoing its params, for dry
 * runs of a pipeline and for load on the cluster without the cost of functions.
 */
export const driverKindSchema = z.enum(['docker', 'process', 'fake']);
export type DriverKind = z.infer<typeof driverKindSchema>;

export const workerToApiSchemas = {
  hello: z.object({
    nodeId: nameSchema,
    /**
     * New at every start of the worker process: a hello with another incarnation than the last
     * means the node's earlier process is gone, and with it every call it held.
     */
    incarnation: z.string().min(1).max(64),
    driver: driverKindSchema,
    capacity: nodeCapacitySchema,
    /** Images present on the node, by runtime image name. */
    images: z.array(z.string()),
    warm: z.array(warmContainerSchema),
    /** Calls still running here (a reconnecting worker says what it is still doing). */
    running: z.array(z.object(callRef)),
    /**
     * With CurveZMQ: the node's public key, and its proof that it holds the secret key
     * (shared/security/node-key-proof.ts). The api serves the node while that key is allowed.
     */
    publicKey: z.string().max(64).optional(),
    keyProof: z.string().max(128).optional(),
  }),
  heartbeat: z.object({
    running: z.number().int().min(0),
    warm: z.array(warmContainerSchema),
  }),
  started: z.object({ ...callRef, startedAt: z.number() }),
  progress: z.object({
    ...callRef,
    progress: progressSchema.optional(),
    metrics: metricsSchema.optional(),
    log: z.string().max(64 * 1024).optional(),
  }),
  /**
   * Also stands for `started` when the call ended before a `started` was worth sending.
   * `finishedAt` is when the run ended by the node's clock, the clock of `startedAt`, so an
   * execution's interval is the node's own (absent from older nodes: the api's receipt time).
   */
  finished: z.object({ ...callRef, startedAt: z.number(), finishedAt: z.number().optional(), outcome: callOutcomeSchema }),
  /** The node could not run the call at all; `retryable` says whether another node or attempt may. */
  failed: z.object({ ...callRef, code: z.string(), message: z.string(), retryable: z.boolean() }),
} as const;

export const runtimeOnWireSchema = z.object({
  name: nameSchema,
  image: z.string().min(1),
  path: z.string().min(1),
  dependencies: z.string(),
  run: z.string().min(1),
  protocol: z.enum(['exec', 'agent']),
});

export const dispatchSchema = z.object({
  ...callRef,
  function: nameSchema,
  version: z.number().int().min(1),
  sha256: sha256Schema,
  size: z.number().int().min(0),
  runtime: runtimeOnWireSchema,
  params: z.unknown(),
  timeoutMs: z.number().int().min(1),
  memoryMb: z.number().int().min(16),
  /** The version's variables for the function's process (absent from an older api: none). */
  env: envMapSchema.optional(),
  /** Its secret variables in the clear, opened by the api for this dispatch; never logged or stored. */
  secrets: envMapSchema.optional(),
  /**
   * The call's request id (`Call.requestId`), bound to the node's and its miniworker's log lines
   * about the call. A field of the message, not of the envelope: the envelope's own id is one
   * send's, for dedupe, and a call travels under many sends (absent from an older api, or on
   * calls stored before calls kept one).
   */
  requestId: requestIdSchema.optional(),
});
export type Dispatch = z.infer<typeof dispatchSchema>;

export const apiToWorkerSchemas = {
  heartbeat: z.object({}).passthrough(),
  /** The api has stored a finished/failed report; until then the worker resends it. */
  ack: z.object(callRef),
  /** The api does not know this node (it restarted), or has just begun to schedule: say hello again (with the calls it runs). */
  reconnect: z.object({}).passthrough(),
  /**
   * The api that sends it schedules, under this lease epoch: the node takes calls only from it and
   * reports to it, until an api with a higher epoch says the same.
   */
  leader: z.object({ epoch: z.number().int().min(1) }),
  dispatch: dispatchSchema,
  cancel: z.object(callRef),
  /**
   * A message from the node was dropped: it did not decode, or said something it may not; or
   * the api does not serve the node at all (code NOT_ALLOWED: its key is not, or no longer, allowed).
   */
  refused: z.object({ code: z.string(), message: z.string() }),
} as const;

type Union<S extends Record<string, z.ZodType>> = { [K in keyof S]: { msgType: K; content: z.infer<S[K]> } }[keyof S];

export type WorkerToApi = Union<typeof workerToApiSchemas>;
export type ApiToWorker = Union<typeof apiToWorkerSchemas>;
export type WorkerToApiContent<K extends WorkerToApi['msgType']> = z.infer<(typeof workerToApiSchemas)[K]>;
