import { createDbClient } from '../../shared/clients/db-client.js';
import { curveTo } from '../helpers/curve.js';
import { runPairs } from './db-bench.js';

export interface RetentionBenchResult {
  /** Ended calls the pass removed. */
  removedCalls: number;
  /** From purgeExpired sent to its answer. */
  passMs: number;
  /** createCall+updateCall pairs/s just before the pass. */
  pairsPerSecBefore: number;
  /** The same, while the pass ran. */
  pairsPerSecDuring: number;
  /** Pairs done while the pass ran (how many the "during" figure rests on). */
  pairsDuring: number;
}

const DAY = 24 * 3600_000;

/**
 * The call store's throughput while a retention pass removes `oldCalls` ended calls: fills the
 * store with calls that finished 30 days ago (past the default 7-day retention), measures pairs/s
 * for `baselinePairs` pairs, then runs purgeExpired and measures pairs/s until it answers. The
 * daemon at `endpoint` must keep the default retention and a scan interval longer than the run,
 * so the pass measured is the only one.
 */
export async function benchRetention(
  endpoint: string,
  options: { oldCalls: number; baselinePairs: number; inFlight: number },
): Promise<RetentionBenchResult> {
  const db = createDbClient({ dbAddr: endpoint, requestTimeoutMs: 30_000, requestRetries: 0 }, curveTo(endpoint));
  try {
    // The pass the daemon runs at start must be over, or it would remove some of the fill.
    await db.call('purgeExpired', {});
    const longAgo = Date.now() - 30 * DAY;
    await runPairs(db, 256, (started) => started < options.oldCalls, { funcName: 'old', finishedAt: () => longAgo });

    const t0 = process.hrtime.bigint();
    await runPairs(db, options.inFlight, (started) => started < options.baselinePairs);
    const before = options.baselinePairs / (Number(process.hrtime.bigint() - t0) / 1e9);

    let passEnd: bigint | undefined;
    const t1 = process.hrtime.bigint();
    const pass = db.call('purgeExpired', {}, { timeoutMs: 600_000, retries: 0 }).finally(() => {
      passEnd = process.hrtime.bigint();
    });
    const pairsDuring = await runPairs(db, options.inFlight, () => passEnd === undefined);
    const { removedCalls } = await pass;
    // Pairs in flight when the pass answered finish after it: they count, and so does their time.
    const seconds = Number(process.hrtime.bigint() - t1) / 1e9;
    return {
      removedCalls,
      passMs: Math.round(Number((passEnd ?? t1) - t1) / 1e6),
      pairsPerSecBefore: Math.round(before),
      pairsPerSecDuring: Math.round(pairsDuring / seconds),
      pairsDuring,
    };
  } finally {
    await db.close();
  }
}
