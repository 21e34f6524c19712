import { httpStatusByCode, type ErrorCode } from './errors.js';
import type { Logger } from './logger.js';

/** While refusals go on, at most one line of all the counts in this long. */
const SUMMARY_EVERY_MS = 60_000;

/** Refused inputs by error code, as `/healthz` and the ping replies show them. */
export type RefusedCounts = Partial<Record<ErrorCode, number>>;

/**
 * What one daemon refused, by error code: requests answered with a code that puts the fault on
 * the sender (a 4xx code), and messages dropped because they did not decode. Its own failures
 * (INTERNAL, UNAVAILABLE, …) are not counted. A refusal costs a map increment: the first of each
 * code is logged at once, and after that one line of all the counts at most once a minute while
 * refusals go on, so a flood of bad input does not become a flood of log lines.
 */
export class Refusals {
  private readonly counts = new Map<ErrorCode, number>();
  private lastSummaryAt = 0;

  constructor(private readonly log: Logger) {}

  /** Counts one refusal with `code`; `context` (say, the peer) goes on the first line of its code. */
  count(code: ErrorCode, context: Record<string, unknown> = {}): void {
    if (httpStatusByCode[code] >= 500) return;
    const n = (this.counts.get(code) ?? 0) + 1;
    this.counts.set(code, n);
    const now = Date.now();
    if (n === 1) {
      this.lastSummaryAt = now;
      this.log.warn({ ...context, code }, 'input refused');
    } else if (now - this.lastSummaryAt >= SUMMARY_EVERY_MS) {
      this.lastSummaryAt = now;
      this.log.warn({ refused: this.snapshot() }, 'inputs refused');
    }
  }

  /** The counts so far, codes with none left out. */
  snapshot(): RefusedCounts {
    return Object.fromEntries(this.counts);
  }
}
