import { z } from 'zod';

/**
 * What running a call produced, made once by the sandbox that ran it and carried unchanged to the
 * api: miniworker → broker → worker → api → call store. A hop may add to it (the broker adds
 * `timings.queuedMs`), never re-pack it, so a field a function reports is added here and in the
 * sandbox that fills it in, and nowhere between.
 */

export const callErrorSchema = z.object({
  code: z.string(),
  message: z.string(),
  /** The function said not to retry it (it raised `Final`): no retry policy applies. */
  final: z.boolean().optional(),
});
export type CallError = z.infer<typeof callErrorSchema>;

export const callLogsSchema = z.object({
  stdout: z.string(),
  stderr: z.string(),
  /** Lines the function reported with `ctx.log` (or an exec function's `##ferry log` lines), one per line. */
  log: z.string().optional(),
  /** True when stdout, stderr or the log lines were cut at the node's output cap. */
  truncated: z.boolean(),
});
export type CallLogs = z.infer<typeof callLogsSchema>;

export const callTimingsSchema = z.object({
  /** From dispatch received on the node to a miniworker taking the call; set by the broker. */
  queuedMs: z.number().min(0).optional(),
  /** Container start, code load, dependencies: everything before the function runs. */
  initMs: z.number().min(0),
  /** The function's own run. */
  runMs: z.number().min(0),
});
export type CallTimings = z.infer<typeof callTimingsSchema>;

/** Progress reported from inside a call: a fraction 0..1, or an object such as `{current, total}`. */
export const progressSchema = z.union([
  z.number().min(0).max(1),
  z.record(z.string().max(64), z.union([z.number(), z.string().max(256)])).refine((o) => Object.keys(o).length <= 32, 'at most 32 fields'),
]);
export type Progress = z.infer<typeof progressSchema>;

export const metricsSchema = z.record(z.string().max(128), z.number()).refine((o) => Object.keys(o).length <= 256, 'at most 256 metrics');
export type Metrics = z.infer<typeof metricsSchema>;

export const callOutcomeSchema = z.object({
  status: z.enum(['DONE', 'ERROR', 'TIMEOUT']),
  result: z.string(),
  /** Set unless the status is DONE. */
  error: callErrorSchema.nullable(),
  logs: callLogsSchema,
  timings: callTimingsSchema,
  /** An exec function's exit status (null: killed by a signal); absent for agent calls. */
  exitCode: z.number().int().nullable().optional(),
});
export type CallOutcome = z.infer<typeof callOutcomeSchema>;
