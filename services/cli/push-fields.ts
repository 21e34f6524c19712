import { FerryError } from '../../shared/errors.js';
import { checkEnvTogether, envFromEntries, envNameProblem } from '../../shared/protocol/function-env.js';
import { usage } from './cli-error.js';
import { formatMs, parseDuration } from './duration.js';

/** `ferry fn deploy`'s options that become fields of the push, as commander hands them over. */
export interface DeployOptions {
  runtime: string;
  timeout?: string;
  memory?: string;
  retries?: string;
  backoff?: string;
  backoffFactor?: string;
  maxBackoff?: string;
  stuckAfter?: string;
  /** `NAME=VALUE` or `NAME`, once per `--env`. */
  env?: string[];
  /** `NAME=VALUE` or `NAME`, once per `--secret`. */
  secret?: string[];
  keepEnv?: boolean;
}

// The api's limits (shared/protocol/domain.ts `retryPolicySchema`, db-messages.ts `putFunction`),
// checked here too so that a typo is a usage error before a bundle of any size is uploaded.
const HOUR_MS = 3_600_000;
const MAX_TIMEOUT_MS = 24 * HOUR_MS;
const MAX_RETRIES = 99; // 100 executions in all
const MAX_BACKOFF_MS = 24 * HOUR_MS;
const MAX_MAX_BACKOFF_MS = 7 * 24 * HOUR_MS;
const MAX_FACTOR = 10;
const MIN_STUCK_MS = 100;
const MAX_STUCK_MS = 7 * 24 * HOUR_MS;

function wholeNumber(flag: string, text: string, min: number, max: number): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw usage(`${flag} must be a whole number from ${min} to ${max}, got "${text}"`);
  return n;
}

function durationIn(flag: string, text: string, minMs: number, maxMs: number): number {
  const ms = parseDuration(flag, text);
  if (ms < minMs || ms > maxMs) throw usage(`${flag} must be from ${formatMs(minMs)} to ${formatMs(maxMs)}, got "${text}"`);
  return ms;
}

/**
 * The multipart fields of a push (`POST /v1/functions/:name`) for `ferry fn deploy`'s options.
 * `--retries n` is n retries after the first execution, so `retryMaxAttempts` (executions in
 * all) is n + 1; `--retries 0` sends 1, no retry. Durations (`--timeout`, `--backoff`,
 * `--max-backoff`, `--stuck-after`) take `500ms`, `30s`, `5m`, `1h` or plain ms and are sent in ms.
 * Options not given send no field, leaving the cluster's default.
 * @throws CliError (usage, exit 2) for a value out of the api's range, and for a back-off option
 *   without `--retries` (a back-off means nothing without a retry policy)
 */
export function pushFieldsOf(o: DeployOptions): Record<string, string> {
  const fields: Record<string, string> = { runtime: o.runtime };
  if (o.timeout !== undefined) fields['timeoutMs'] = String(durationIn('--timeout', o.timeout, 1, MAX_TIMEOUT_MS));
  if (o.memory !== undefined) fields['memoryMb'] = String(wholeNumber('--memory', o.memory, 16, 65_536));
  const backoffGiven = [o.backoff, o.backoffFactor, o.maxBackoff].some((v) => v !== undefined);
  if (backoffGiven && o.retries === undefined) throw usage('--backoff, --backoff-factor and --max-backoff need --retries');
  if (o.retries !== undefined) fields['retryMaxAttempts'] = String(wholeNumber('--retries', o.retries, 0, MAX_RETRIES) + 1);
  if (o.backoff !== undefined) fields['retryBackoffMs'] = String(durationIn('--backoff', o.backoff, 0, MAX_BACKOFF_MS));
  if (o.backoffFactor !== undefined) {
    const f = /^\d+(\.\d+)?$/.test(o.backoffFactor.trim()) ? Number(o.backoffFactor) : NaN;
    if (!(f >= 1 && f <= MAX_FACTOR)) throw usage(`--backoff-factor must be a number from 1 to ${MAX_FACTOR}, got "${o.backoffFactor}"`);
    fields['retryBackoffFactor'] = String(f);
  }
  if (o.maxBackoff !== undefined) fields['retryMaxBackoffMs'] = String(durationIn('--max-backoff', o.maxBackoff, 0, MAX_MAX_BACKOFF_MS));
  if (o.stuckAfter !== undefined) fields['stuckAfterMs'] = String(durationIn('--stuck-after', o.stuckAfter, MIN_STUCK_MS, MAX_STUCK_MS));
  if (o.keepEnv) fields['keepEnv'] = 'true';
  return fields;
}

/**
 * The repeated `env` and `secret` fields of a push (`NAME=VALUE` each) for `--env` and
 * `--secret`, checked as the api checks them. A bare `NAME` takes its value from this shell's
 * environment, so a secret need not be typed on a command line, where shell history and `ps`
 * would keep it.
 * @throws CliError (usage, exit 2) naming a bad entry by its place and name, never its value
 */
export function envFieldsOf(o: Pick<DeployOptions, 'env' | 'secret'>, shell: NodeJS.ProcessEnv = process.env): Array<[string, string]> {
  const complete = (flag: string, items: string[]): string[] =>
    items.map((item, i) => {
      if (item.includes('=')) return item;
      const value = envNameProblem(item) === null ? shell[item] : undefined;
      // A bare word may be a value typed without its name: it is never echoed for --secret.
      if (value === undefined) throw usage(`${flag} #${i + 1}${flag === '--env' ? ` "${item}"` : ''}: expected NAME=VALUE, or the NAME of a variable set in this shell`);
      return `${item}=${value}`;
    });
  try {
    const env = envFromEntries('--env', complete('--env', o.env ?? []));
    const secrets = envFromEntries('--secret', complete('--secret', o.secret ?? []));
    checkEnvTogether(env, secrets);
    const fields = (name: string, map: Record<string, string>): Array<[string, string]> => Object.entries(map).map(([k, v]) => [name, `${k}=${v}`]);
    return [...fields('env', env), ...fields('secret', secrets)];
  } catch (err) {
    if (err instanceof FerryError) throw usage(err.message);
    throw err;
  }
}
