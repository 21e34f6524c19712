import cliProgress from 'cli-progress';
import type { BatchView } from '../../packages/client/src/index.js';
import type { ApiClient } from './api-client.js';

/** How often `--follow` reads the job: one read of its stored counts, never a scan of its calls. */
const FOLLOW_EVERY_MS = 500;
const ENDED_STATUSES = ['DONE', 'ERROR', 'TIMEOUT', 'KILLED', 'CANCELLED'] as const;

const batchesEnded = (b: BatchView): number => ENDED_STATUSES.reduce((n, s) => n + (b.counts[s] ?? 0), 0);
const jobEnded = (b: BatchView): boolean => b.state !== 'running' && b.state !== 'combining';

/**
 * Reads the job until it has ended (its combiner answered, or it failed or was cancelled); on a
 * terminal, a bar of its batches ended on stderr, so stdout holds only the answer.
 */
export async function followBatch(api: ApiClient, id: string, out: NodeJS.WriteStream = process.stderr): Promise<BatchView> {
  let b = await api.getBatch(id);
  const bar = out.isTTY
    ? new cliProgress.SingleBar({ format: 'batch {id} [{bar}] {value}/{total} batches ended, {state}', hideCursor: true, stream: out }, cliProgress.Presets.shades_classic)
    : null;
  bar?.start(b.numBatches, batchesEnded(b), { id, state: b.state });
  try {
    while (!jobEnded(b)) {
      await new Promise((resolve) => setTimeout(resolve, FOLLOW_EVERY_MS));
      b = await api.getBatch(id);
      bar?.update(batchesEnded(b), { state: b.state });
    }
  } finally {
    bar?.stop();
  }
  return b;
}
