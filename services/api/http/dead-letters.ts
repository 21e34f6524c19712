import { ErrorCode, FerryError } from '../../../shared/errors.js';
import type { DbRequestContent } from '../../../shared/protocol/db-messages.js';
import type { ApiDeps } from './deps.js';

/** Most calls one `POST /v1/dead-letters/retry` runs again. */
export const MAX_RETRIED_PER_REQUEST = 10_000;
const PAGE = 1_000;
const AT_ONCE = 64;

/**
 * Runs again every dead letter the filters select, at most `limit` (≤ 10,000), newest first.
 * Answers how many went back to PENDING; one that moved on meanwhile (retried by someone else) is
 * skipped, not an error.
 */
export async function retryDeadLetters(deps: ApiDeps, filters: Omit<DbRequestContent['listCalls'], 'deadLetter' | 'cursor' | 'limit'>, limit: number): Promise<number> {
  let retried = 0;
  let cursor: string | undefined;
  let seen = 0;
  do {
    const page = await deps.db.call('listCalls', { ...filters, deadLetter: true, limit: Math.min(PAGE, limit - seen), ...(cursor ? { cursor } : {}) });
    seen += page.calls.length;
    for (let i = 0; i < page.calls.length; i += AT_ONCE) {
      const outcomes = await Promise.allSettled(page.calls.slice(i, i + AT_ONCE).map((c) => deps.scheduler.calls.retryEnded(c.id)));
      for (const o of outcomes) {
        if (o.status === 'fulfilled') retried += 1;
        else if (!(o.reason instanceof FerryError && o.reason.code === ErrorCode.CONFLICT)) throw o.reason;
      }
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor && seen < limit);
  return retried;
}
