import { nanoid } from 'nanoid';
import { createDbClient } from '../../shared/clients/db-client.js';

export interface DbBenchResult {
  pairs: number;
  inFlight: number;
  pairsPerSec: number;
  opsPerSec: number;
}

/**
 * createCall + updateCall pairs against a DB daemon at `endpoint`, `inFlight` pairs at a time:
 * the two writes every call costs the call store.
 */
export async function benchDb(endpoint: string, pairs: number, inFlight: number): Promise<DbBenchResult> {
  const db = createDbClient({ dbAddr: endpoint, requestTimeoutMs: 30_000, requestRetries: 0 });
  try {
    await db.call('registerRuntime', { image: 'bench', run: 'true' });
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < pairs) {
        next += 1;
        const call = await db.call('createCall', { id: nanoid(), funcName: 'bench', version: 1, params: { n: next } });
        await db.call('updateCall', {
          id: call.id,
          expect: { status: 'PENDING', attempt: 1 },
          set: { status: 'DONE', result: 'ok', finishedAt: Date.now() },
        });
      }
    };
    const start = process.hrtime.bigint();
    await Promise.all(Array.from({ length: inFlight }, worker));
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    return { pairs, inFlight, pairsPerSec: pairs / seconds, opsPerSec: (2 * pairs) / seconds };
  } finally {
    await db.close();
  }
}
