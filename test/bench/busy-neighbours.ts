import { makeBundle } from '../helpers/bundles.js';
import { startCluster } from '../helpers/cluster.js';
import { fixture } from '../helpers/fixtures.js';
import { upload } from '../helpers/http.js';
import { waitUntil } from '../helpers/temp.js';
import { latencies, summarize, type LatencyFigures } from './contenders.js';
import { invoker, post } from './ferry-bench.js';

export interface BusyNeighbours {
  /** The no-op alone on its node. */
  quiet: LatencyFigures;
  /** The same while the busy calls spin beside it. */
  busy: LatencyFigures;
}

const BUSY_CALLS = 4;
/** Long enough to outlast the timed no-op calls; under the default 60 s timeout. */
const BUSY_SECONDS = 50;

/**
 * Busy neighbours: a warm no-op (python agent, default memory, sync over HTTP, one client) timed
 * alone on its node, then while four calls of a function that spins the CPU (default memory too)
 * run beside it. Six containers, so every call has its own. `workerEnv` sets the node apart
 * (`FERRY_MB_PER_CPU=0`: no CPU limit, to show what the limit is worth).
 */
export async function busyNeighbours(samples: number, workerEnv: Record<string, string> = {}): Promise<BusyNeighbours> {
  const cluster = await startCluster({
    workers: ['bench-busy'],
    logLevel: 'info',
    workerEnv: { FERRY_MAX_CONTAINERS: '6', FERRY_PRELOAD: 'function', ...workerEnv },
  });
  try {
    await post(`${cluster.url}/v1/runtimes`, { name: 'py', image: 'pythonruntime', path: '/ws', run: 'main.py', protocol: 'agent' });
    for (const fn of ['ok', 'busy']) {
      const bundle = await makeBundle(cluster.dir, fn, await fixture(fn));
      await upload(`${cluster.url}/v1/functions/${fn}`, bundle.file, { runtime: 'py' });
    }
    const noop = invoker(new URL(cluster.url), 'ok');
    await latencies(noop, 200);
    const quiet = await latencies(noop, samples);

    const ids: string[] = [];
    for (let i = 0; i < BUSY_CALLS; i++) ids.push(String((await post(`${cluster.url}/v1/functions/busy/invoke`, { seconds: BUSY_SECONDS })).json['id']));
    const allRunning = async (): Promise<boolean> => {
      const calls = await Promise.all(ids.map(async (id) => (await (await fetch(`${cluster.url}/v1/calls/${id}`)).json()) as { status: string }));
      return calls.every((c) => c.status === 'RUNNING');
    };
    await waitUntil(allRunning, 'the busy calls run', 60_000);
    const busy = await latencies(noop, samples);
    if (!(await allRunning())) throw new Error(`a busy call ended before ${samples} no-op calls did`);
    await Promise.all(ids.map((id) => post(`${cluster.url}/v1/calls/${id}/cancel`, {}).catch(() => undefined)));
    return { quiet: summarize(quiet), busy: summarize(busy) };
  } finally {
    await cluster.close();
  }
}
