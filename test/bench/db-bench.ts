import { nanoid } from 'nanoid';
import { createDbClient, type DbClient } from '../../shared/clients/db-client.js';
import { curveTo } from '../helpers/curve.js';

export interface DbBenchResult {
  pairs: number;
  inFlight: number;
  pairsPerSec: number;
  opsPerSec: number;
}

/**
 * createCall + updateCall (to DONE) pairs, `inFlight` at a time, as long as `more()` holds when a
 * pair is about to start: the two writes every call costs the call store. `finishedAt` dates the
 * calls' end (retention figures fill the store with calls that ended long ago). Returns the pairs done.
 */
export async function runPairs(
  db: DbClient,
  inFlight: number,
  more: (started: number) => boolean,
  options: { funcName?: string; finishedAt?: () => number } = {},
): Promise<number> {
  const funcName = options.funcName ?? 'bench';
  const finishedAt = options.finishedAt ?? Date.now;
  let started = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (more(started)) {
      started += 1;
      const call = await db.call('createCall', { id: nanoid(), funcName, version: 1, params: { n: started } });
      await db.call('updateCall', {
        id: call.id,
        expect: { status: 'PENDING', attempt: 1 },
        set: { status: 'DONE', result: 'ok', finishedAt: finishedAt() },
      });
      done += 1;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return done;
}

/** `pairs` createCall + updateCall pairs against a DB daemon at `endpoint`, `inFlight` pairs at a time. */
export async function benchDb(endpoint: string, pairs: number, inFlight: number): Promise<DbBenchResult> {
  const db = createDbClient({ dbAddr: endpoint, requestTimeoutMs: 30_000, requestRetries: 0 }, curveTo(endpoint));
  try {
    await db.call('registerRuntime', { image: 'bench', run: 'true' });
    const start = process.hrtime.bigint();
    await runPairs(db, inFlight, (started) => started < pairs);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    return { pairs, inFlight, pairsPerSec: pairs / seconds, opsPerSec: (2 * pairs) / seconds };
  } finally {
    await db.close();
  }
}
