import { makeBundle } from '../helpers/bundles.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { fixture } from '../helpers/fixtures.js';
import { http, upload } from '../helpers/http.js';
import { waitUntil } from '../helpers/temp.js';
import { latencies, summarize, type Contender, type LatencyFigures } from './contenders.js';
import { invoker, post } from './ferry-bench.js';

export interface BusyNeighbours {
  /** The no-op alone on its node. */
  quiet: LatencyFigures;
  /** The same while the busy calls spin beside it. */
  busy: LatencyFigures;
  /** The same on a node with no CPU limit. */
  busyNoCpuLimit: LatencyFigures;
}

const BUSY_CALLS = 4;
/** Long enough to outlast a round of timed no-op calls (they are cancelled after it); under the default 60 s timeout. */
const BUSY_SECONDS = 50;

interface BusyNode {
  cluster: Cluster;
  noop: Contender;
}

/** A one-node cluster of six containers with a python no-op (`ok`) and a CPU spinner (`busy`), the no-op warm. */
async function busyNode(nodeId: string, workerEnv: Record<string, string>): Promise<BusyNode> {
  const cluster = await startCluster({ workers: [nodeId], logLevel: 'info', workerEnv: { FERRY_MAX_CONTAINERS: '6', FERRY_PRELOAD: 'function', ...workerEnv } });
  try {
    await post(`${cluster.url}/v1/runtimes`, { name: 'py', image: 'pythonruntime', path: '/ws', run: 'main.py', protocol: 'agent' });
    for (const fn of ['ok', 'busy']) {
      const bundle = await makeBundle(cluster.dir, fn, await fixture(fn));
      await upload(`${cluster.url}/v1/functions/${fn}`, bundle.file, { runtime: 'py' });
    }
    const noop = invoker(new URL(cluster.url), 'ok', 'no-op');
    await latencies(noop, 200);
    return { cluster, noop };
  } catch (err) {
    await cluster.close();
    throw err;
  }
}

/** Times `n` no-op calls on `node` while four busy calls run beside them, then cancels those. */
async function besideBusyCalls(node: BusyNode, n: number, into: number[]): Promise<void> {
  const { url } = node.cluster;
  const ids: string[] = [];
  for (let i = 0; i < BUSY_CALLS; i++) ids.push(String((await post(`${url}/v1/functions/busy/invoke`, { seconds: BUSY_SECONDS })).json['id']));
  const statuses = async (): Promise<string[]> =>
    Promise.all(ids.map(async (id) => (await http<{ status: string }>('GET', `${url}/v1/calls/${id}`)).body.status));
  await waitUntil(async () => (await statuses()).every((s) => s === 'RUNNING'), 'the busy calls run', 60_000);
  await latencies(node.noop, n, into);
  if (!(await statuses()).every((s) => s === 'RUNNING')) throw new Error('a busy call ended before the no-op calls beside it did');
  await Promise.all(ids.map((id) => post(`${url}/v1/calls/${id}/cancel`, {})));
  await waitUntil(async () => (await statuses()).every((s) => s !== 'RUNNING'), 'the busy calls are cancelled', 60_000);
}

/**
 * Busy neighbours: a warm no-op (python agent, default memory, sync over HTTP, one client) timed
 * alone on its node, then while four calls of a function that spins the CPU (default memory too)
 * run beside it, and the same on a second node with no CPU limit (`FERRY_MB_PER_CPU=0`). Six
 * containers a node, so every call has its own. The three are measured in turns, `rounds` times,
 * so the machine's drift falls on all three alike.
 */
export async function busyNeighbours(samples: number, rounds: number): Promise<BusyNeighbours> {
  const limited = await busyNode('bench-busy', {});
  let unlimited: BusyNode | undefined;
  try {
    unlimited = await busyNode('bench-busy-free', { FERRY_MB_PER_CPU: '0' });
    const quiet: number[] = [];
    const busy: number[] = [];
    const busyFree: number[] = [];
    const perRound = Math.ceil(samples / rounds);
    for (let r = 0; r < rounds; r++) {
      await latencies(limited.noop, perRound, quiet);
      await besideBusyCalls(limited, perRound, busy);
      await besideBusyCalls(unlimited, perRound, busyFree);
    }
    return { quiet: summarize(quiet), busy: summarize(busy), busyNoCpuLimit: summarize(busyFree) };
  } finally {
    await unlimited?.cluster.close();
    await limited.cluster.close();
  }
}
