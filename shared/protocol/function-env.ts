import { z } from 'zod';
import { BadRequestError } from '../errors.js';

/**
 * A function version's environment: plain values (`env`, shown by the API) and secrets (stored
 * sealed, never shown, handed only to the function's process). Both are fixed per version.
 */

/** Bounds of one version's env and secrets together, so a container's environment stays small. */
export const EnvLimits = {
  /** Names, env and secrets together. */
  maxNames: 64,
  maxNameLength: 128,
  /** UTF-8 bytes of one value. */
  maxValueBytes: 16 * 1024,
} as const;

/** Ferry's own variables (`FERRY_PARAMS`, `FERRY_CALL_ID`, the agent's `FERRY_*`) cannot be set by a push. */
export const RESERVED_ENV_PREFIX = 'FERRY_';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Why `name` cannot be a variable name, or null when it can. */
export function envNameProblem(name: string): string | null {
  if (name.length === 0) return 'the name is empty';
  if (name.length > EnvLimits.maxNameLength) return `the name is longer than ${EnvLimits.maxNameLength} characters`;
  if (!ENV_NAME.test(name)) return 'a name is letters, digits and "_", not starting with a digit';
  if (name.startsWith(RESERVED_ENV_PREFIX)) return `names starting with ${RESERVED_ENV_PREFIX} are Ferry's own`;
  return null;
}

export const envNameSchema = z.string().superRefine((name, ctx) => {
  const problem = envNameProblem(name);
  if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
});

/** Env as it travels between daemons and is stored: name → value. */
export const envMapSchema = z.record(envNameSchema, z.string());
export type EnvMap = z.infer<typeof envMapSchema>;

/**
 * `NAME=VALUE` entries (a push's repeated `env` or `secret` fields) as a map. The error names
 * where they came from (`label`: `field "secret"`, `--secret`), the entry's place and its name,
 * never its value: a secret must not come back in a reply or a log line, even a mistyped one.
 * @throws BadRequestError for an entry with no `=`, a bad or repeated name, a value over
 *   {@link EnvLimits.maxValueBytes} or holding a NUL character (no process environment can)
 */
export function envFromEntries(label: string, entries: readonly string[]): EnvMap {
  const env: EnvMap = {};
  entries.forEach((entry, i) => {
    const where = `${label} #${i + 1}`;
    const eq = entry.indexOf('=');
    if (eq < 0) throw new BadRequestError(`bad ${where}: expected NAME=VALUE`);
    const name = entry.slice(0, eq);
    const value = entry.slice(eq + 1);
    const shownName = JSON.stringify(name.slice(0, EnvLimits.maxNameLength));
    const nameProblem = envNameProblem(name);
    if (nameProblem) throw new BadRequestError(`bad ${where} ${shownName}: ${nameProblem}`);
    if (Object.hasOwn(env, name)) throw new BadRequestError(`bad ${where}: ${shownName} is given twice`);
    if (Buffer.byteLength(value) > EnvLimits.maxValueBytes) {
      throw new BadRequestError(`bad ${where} ${shownName}: the value is longer than ${EnvLimits.maxValueBytes} bytes`);
    }
    if (value.includes('\0')) throw new BadRequestError(`bad ${where} ${shownName}: the value holds a NUL character`);
    env[name] = value;
  });
  return env;
}

/**
 * Checks a version's env and secrets together: no name in both (the function would see only one),
 * at most {@link EnvLimits.maxNames} names.
 * @throws BadRequestError naming the problem
 */
export function checkEnvTogether(env: Readonly<Record<string, unknown>>, secrets: Readonly<Record<string, unknown>>): void {
  const both = Object.keys(env).filter((name) => Object.hasOwn(secrets, name));
  if (both.length > 0) throw new BadRequestError(`${both.join(', ')} given both as env and as a secret`);
  const names = Object.keys(env).length + Object.keys(secrets).length;
  if (names > EnvLimits.maxNames) throw new BadRequestError(`${names} env and secret names, at most ${EnvLimits.maxNames}`);
}

/**
 * A secret as the db stores it: `v1.<key id>.<iv>.<tag>.<ciphertext>` (base64url), sealed by the
 * api with AES-256-GCM. The db checks the shape, so a value that was not sealed is never stored.
 */
export const sealedSecretSchema = z
  .string()
  .regex(/^v1\.[0-9a-f]{16}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]*$/, 'must be a sealed secret');
export const sealedSecretsSchema = z.record(envNameSchema, sealedSecretSchema);
