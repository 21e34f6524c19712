import cliProgress from 'cli-progress';
import type { RunView } from '../../shared/protocol/run-view.js';
import type { ApiClient } from './api-client.js';

/** How often `--follow` reads the run: one read of its stored counts, never a scan of its calls. */
const FOLLOW_EVERY_MS = 500;
const ENDED_STATUSES = ['DONE', 'ERROR', 'TIMEOUT', 'KILLED', 'CANCELLED'] as const;

export const runEnded = (run: RunView): boolean => run.status !== 'QUEUED' && run.status !== 'RUNNING';

/** Calls of the run that have ended, whatever their end. */
export const callsEnded = (run: RunView): number => ENDED_STATUSES.reduce((n, s) => n + (run.counts[s] ?? 0), 0);

/**
 * Reads the run until it has ended; on a terminal, a bar of its calls ended (on stderr, so
 * stdout holds only the answer). Resolves with the run as it ended.
 */
export async function followRun(api: ApiClient, id: string, out: NodeJS.WriteStream = process.stderr): Promise<RunView> {
  let run = await api.getRun(id);
  const bar = out.isTTY
    ? new cliProgress.SingleBar(
        { format: 'run {id} [{bar}] {value}/{total} calls ended, {status}', hideCursor: true, stream: out },
        cliProgress.Presets.shades_classic,
      )
    : null;
  bar?.start(run.times, callsEnded(run), { id, status: run.status });
  try {
    while (!runEnded(run)) {
      await new Promise((resolve) => setTimeout(resolve, FOLLOW_EVERY_MS));
      run = await api.getRun(id);
      bar?.update(callsEnded(run), { status: run.status });
    }
  } finally {
    bar?.stop();
  }
  return run;
}
