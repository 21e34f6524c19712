import type { FunctionView, RetryPolicy } from '../../shared/protocol/domain.js';
import { formatMs } from './duration.js';

/**
 * A retry policy in the terms `ferry fn deploy` takes it: `3 retries, back-off 1s ×2 up to 1h`,
 * `1 retry, back-off 500ms` (a factor of 1 waits the same each time), `2 retries, no back-off`;
 * `-` for none (and for a version pushed to an api older than retry policies).
 */
export function retryText(r: RetryPolicy | null | undefined): string {
  if (!r) return '-';
  const retries = r.maxAttempts - 1;
  if (retries === 0) return 'no retries';
  const head = `${retries} ${retries === 1 ? 'retry' : 'retries'}`;
  if (r.backoffMs === 0) return `${head}, no back-off`;
  const growth = r.backoffFactor === 1 ? '' : ` ×${r.backoffFactor} up to ${formatMs(r.maxBackoffMs)}`;
  return `${head}, back-off ${formatMs(r.backoffMs)}${growth}`;
}

/** `30s`, or `-` when a silent execution is never killed. */
export const stuckText = (f: Pick<FunctionView, 'stuckAfterMs'>): string => (typeof f.stuckAfterMs === 'number' ? formatMs(f.stuckAfterMs) : '-');

/** What `ferry fn deploy` adds to its line for the job-engine settings of the version: `; 3 retries, …; stuck after 30s`. */
export function policySuffix(f: Pick<FunctionView, 'retry' | 'stuckAfterMs'>): string {
  return (f.retry ? `; ${retryText(f.retry)}` : '') + (typeof f.stuckAfterMs === 'number' ? `; stuck after ${formatMs(f.stuckAfterMs)}` : '');
}

/** Variable names as a column: `REGION, STAGE`, or `-` for none. */
export const namesText = (names: readonly string[]): string => (names.length > 0 ? names.join(', ') : '-');

/**
 * What `ferry fn deploy` adds to its line for the version's variables, by name only:
 * `; env REGION, STAGE; secrets API_TOKEN` (nothing for a version with none, or from an older api).
 */
export function envSuffix(f: Partial<Pick<FunctionView, 'env' | 'secrets'>>): string {
  const env = Object.keys(f.env ?? {});
  const secrets = f.secrets ?? [];
  return (env.length > 0 ? `; env ${namesText(env)}` : '') + (secrets.length > 0 ? `; secrets ${namesText(secrets)}` : '');
}
