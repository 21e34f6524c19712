import { z } from 'zod';
import { callOutcomeSchema, metricsSchema, progressSchema } from '../../shared/protocol/call-outcome.js';
import { dispatchSchema, runtimeOnWireSchema } from '../../shared/protocol/worker-messages.js';

/**
 * The broker ↔ miniworker channel inside one node (ROUTER on ipc:// in the worker daemon, a
 * DEALER per miniworker process). A miniworker hosts a few sandbox slots; every message names
 * its slot (the slot's index in its miniworker), and each slot goes Majordomo style: it says
 * `ready`, gets one task, reports, says `ready` again.
 */

const preparedSchema = z.object({
  warmKey: z.string(),
  key: z.string(),
  runtime: runtimeOnWireSchema,
  codeDir: z.string(),
  artifact: z.string(),
  codeInArtifact: z.boolean(),
});

const slot = { slot: z.number().int().nonnegative() };
const callRef = { callId: z.string(), attempt: z.number().int() };

export const brokerToMiniworkerSchemas = {
  task: z.object({ ...slot, task: dispatchSchema, prepared: preparedSchema, queuedMs: z.number() }),
  cancel: z.object({ ...slot, ...callRef }),
  /** Preload `runtime`: start a sandbox of this runtime holding no function yet. */
  warm: z.object({ ...slot, runtime: runtimeOnWireSchema }),
} as const;

export const miniworkerToBrokerSchemas = {
  /** Free for a task; `warm` names what its kept sandbox is warm for, if any. */
  ready: z.object({ ...slot, warm: z.string().nullable(), key: z.string().nullable() }),
  started: z.object({ ...slot, ...callRef, startedAt: z.number() }),
  progress: z.object({
    ...slot,
    ...callRef,
    progress: progressSchema.optional(),
    metrics: metricsSchema.optional(),
    log: z.string().optional(),
  }),
  finished: z.object({ ...slot, ...callRef, startedAt: z.number(), finishedAt: z.number(), outcome: callOutcomeSchema }),
  /** The sandbox could not be made at all (image build failed, engine error). */
  failed: z.object({ ...slot, ...callRef, code: z.string(), message: z.string(), retryable: z.boolean() }),
} as const;
