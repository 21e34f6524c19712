import type { CallFilter } from '../../packages/client/src/index.js';
import { callStatusSchema, type CallStatus } from '../../shared/protocol/domain.js';
import { usage } from './cli-error.js';

/** Every call status, for `--status` (the cluster's own list, so a new status is known here too). */
export const STATUSES: readonly string[] = callStatusSchema.options;
const isStatus = (s: string): s is CallStatus => STATUSES.includes(s);

/** The filters `ferry calls` and `ferry dead-letters` share. */
export interface CallFilterOptions {
  fn?: string;
  status?: string;
  session?: string;
}

/**
 * `--fn`, `--status` (any case) and `--session` as the filters of the call listings
 * (`funcName`, `status`, `sessionId`).
 * @throws CliError (usage) for a status that is none of {@link STATUSES}
 */
export function callFilterOf(o: CallFilterOptions): CallFilter {
  const status = o.status?.toUpperCase();
  if (status !== undefined && !isStatus(status)) throw usage(`--status must be one of ${STATUSES.join(', ')}`);
  return { ...(o.fn ? { funcName: o.fn } : {}), ...(status ? { status } : {}), ...(o.session ? { sessionId: o.session } : {}) };
}

/**
 * A `--limit` value.
 * @throws CliError (usage) unless it is a whole number from 1 to `max`
 */
export function limitOf(text: string, max: number): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > max) throw usage(`--limit must be a whole number from 1 to ${max}`);
  return n;
}
