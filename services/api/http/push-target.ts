import type { Request, RequestHandler } from 'express';
import { z } from 'zod';
import { BadRequestError } from '../../../shared/errors.js';
import { nameSchema, retryPolicySchema, type RetryPolicy } from '../../../shared/protocol/domain.js';
import { checkEnvTogether, envFromEntries, type EnvMap } from '../../../shared/protocol/function-env.js';
import { badFunctionName } from '../../../shared/protocol/function-ref.js';
import type { ApiDeps } from './deps.js';
import { parse } from './parse.js';

const entryList = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .transform((v) => (v === undefined ? [] : typeof v === 'string' ? [v] : v));

/** The fields of `POST /v1/functions/:name` besides the bundle. */
export const pushFields = z.object({
  runtime: nameSchema,
  timeoutMs: z.coerce.number().int().min(1).max(24 * 3600_000).optional(),
  memoryMb: z.coerce.number().int().min(16).max(65_536).optional(),
  /** The retry policy, flat (multipart fields are strings); `retryMaxAttempts` turns it on. */
  retryMaxAttempts: z.coerce.number().int().min(1).max(100).optional(),
  retryBackoffMs: z.coerce.number().int().min(0).max(24 * 3600_000).optional(),
  retryBackoffFactor: z.coerce.number().min(1).max(10).optional(),
  retryMaxBackoffMs: z.coerce.number().int().min(0).max(7 * 24 * 3600_000).optional(),
  stuckAfterMs: z.coerce.number().int().min(100).max(7 * 24 * 3600_000).optional(),
  /** `NAME=VALUE`, once per variable (a field sent once arrives as a string, repeated as a list). */
  env: entryList,
  secret: entryList,
  /** `true`: start from the latest version's env and secrets (names sent here replace theirs). */
  keepEnv: z.enum(['true', 'false']).optional(),
});

/** The env and sealed-to-be secrets a push names, each checked; never quotes a value. */
export function pushEnvOf(fields: z.output<typeof pushFields>): { env: EnvMap; secrets: EnvMap; keepEnv: boolean } {
  const env = envFromEntries('field "env"', fields.env);
  const secrets = envFromEntries('field "secret"', fields.secret);
  checkEnvTogether(env, secrets);
  return { env, secrets, keepEnv: fields.keepEnv === 'true' };
}

/** The retry policy named by a push's flat fields, or null when it names none. */
export function retryPolicyOf(fields: z.output<typeof pushFields>): RetryPolicy | null {
  const { retryMaxAttempts, retryBackoffMs, retryBackoffFactor, retryMaxBackoffMs } = fields;
  if (retryMaxAttempts === undefined) {
    if (retryBackoffMs !== undefined || retryBackoffFactor !== undefined || retryMaxBackoffMs !== undefined) {
      throw new BadRequestError('bad fields: a retry back-off needs retryMaxAttempts');
    }
    return null;
  }
  return retryPolicySchema.parse({
    maxAttempts: retryMaxAttempts,
    ...(retryBackoffMs !== undefined ? { backoffMs: retryBackoffMs } : {}),
    ...(retryBackoffFactor !== undefined ? { backoffFactor: retryBackoffFactor } : {}),
    ...(retryMaxBackoffMs !== undefined ? { maxBackoffMs: retryMaxBackoffMs } : {}),
  });
}

const pushQuery = z.object({ runtime: nameSchema.optional() });
const runtimeField = pushFields.pick({ runtime: true });

/**
 * The runtime a v1 push names, as far as it has arrived: form field `runtime` or query `?runtime=`
 * (a client that streams its bundle before its fields can name the runtime up front that way).
 * Throws BAD_REQUEST when one is malformed or the two disagree.
 */
export function pushRuntime(req: Request): string | undefined {
  const fromQuery = parse(pushQuery, req.query, 'query').runtime;
  const field: unknown = (req.body as Record<string, unknown> | undefined)?.['runtime'];
  if (field === undefined) return fromQuery;
  const fromField = parse(runtimeField, { runtime: field }, 'fields').runtime;
  if (fromQuery !== undefined && fromQuery !== fromField) {
    throw new BadRequestError(`bad fields: runtime "${fromField}" differs from ?runtime=${fromQuery}`);
  }
  return fromField;
}

/** Throws BAD_REQUEST for a bad function name, NOT_FOUND for an unknown runtime (when named). */
export async function checkPushTarget(deps: ApiDeps, name: string, runtime: string | undefined): Promise<void> {
  const bad = badFunctionName(name);
  if (bad) throw bad;
  if (runtime !== undefined) await deps.catalog.runtime(runtime);
}

/**
 * Runs before the body is read: a push to a bad function name or an unknown runtime is answered
 * (400 / 404) at once, not after the client has sent its whole bundle. The body is then read off
 * the wire and dropped by node's HTTP server.
 */
export function checkTargetFirst(deps: ApiDeps, target: (req: Request) => { name: string; runtime: string | undefined }): RequestHandler {
  return async (req, _res, next) => {
    const { name, runtime } = target(req);
    await checkPushTarget(deps, name, runtime);
    next();
  };
}
