import { createDbClient } from '../../shared/clients/db-client.js';
import { curveTo } from '../helpers/curve.js';
import { runPairs } from './db-bench.js';
import type { FerryBench } from './ferry-bench.js';
import { percentile, round, timeMs } from './stats.js';

export interface PurgeInterference {
  /** Warm sync invokes, one client, just before the pass. */
  beforeP50Ms: number;
  beforeP99Ms: number;
  /** The same while the retention pass ran. */
  duringP50Ms: number;
  duringP99Ms: number;
  samplesDuring: number;
  removedCalls: number;
  passMs: number;
}

const DAY = 24 * 3600_000;

/**
 * Warm sync invokes while the call store's retention pass removes `oldCalls` calls that ended
 * 30 days ago (past the default 7-day retention): what a user's calls feel of a purge. The same
 * number of invokes just before is the reference.
 */
export async function invokeDuringPurge(b: FerryBench, opts: { oldCalls: number; samples: number }): Promise<PurgeInterference> {
  const db = createDbClient({ dbAddr: b.cluster.db.endpoint, requestTimeoutMs: 30_000, requestRetries: 0 }, curveTo(b.cluster.db.endpoint));
  try {
    const longAgo = Date.now() - 30 * DAY;
    await runPairs(db, 256, (started) => started < opts.oldCalls, { funcName: 'old', finishedAt: () => longAgo });
    const one = await b.python.client();
    for (let i = 0; i < 50; i++) await one();
    const before: number[] = [];
    for (let i = 0; i < opts.samples; i++) before.push(await timeMs(one));

    let passing = true;
    const t0 = performance.now();
    const pass = db.call('purgeExpired', {}, { timeoutMs: 600_000, retries: 0 }).finally(() => {
      passing = false;
    });
    const during: number[] = [];
    while (passing) {
      const took = await timeMs(one);
      if (passing) during.push(took);
    }
    const { removedCalls } = await pass;
    return {
      beforeP50Ms: round(percentile(before, 50), 3),
      beforeP99Ms: round(percentile(before, 99), 3),
      duringP50Ms: round(percentile(during, 50), 3),
      duringP99Ms: round(percentile(during, 99), 3),
      samplesDuring: during.length,
      removedCalls,
      passMs: Math.round(performance.now() - t0),
    };
  } finally {
    await db.close();
  }
}
