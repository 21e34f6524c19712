import { execFile } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { functionImage } from '../../services/worker/drivers/docker-driver.js';
import { makeBundle, makeGzipBomb } from '../helpers/bundles.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { upload, withAuth } from '../helpers/http.js';
import { waitUntil } from '../helpers/temp.js';
import { push, randomBundle } from './bundle-bench.js';
import type { Contender } from './contenders.js';
import { percentile, round, timeMs } from './stats.js';

const MiB = 1024 * 1024;
const exec = promisify(execFile);
const NOOP = { python: 'def main(params, ctx=None):\n    return ""\n', node: 'exports.handler = async () => "";\n' };

export interface FerryBench {
  cluster: Cluster;
  python: Contender;
  node: Contender;
  close(): Promise<void>;
}

/** One keep-alive connection per client posting sync invokes, as a load generator holds. */
export function invoker(url: URL, fn: string, name: string): Contender {
  const path_ = `/v1/functions/${fn}/invoke?wait=true`;
  return {
    name,
    client: async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      return () =>
        new Promise<void>((resolve, reject) => {
          const req = http.request(
            { host: url.hostname, port: url.port, path: path_, method: 'POST', agent, headers: withAuth(url.href, { 'content-type': 'application/json', 'content-length': '2' }) },
            (res) => {
              res.resume();
              res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`invoke answered ${res.statusCode}`))));
            },
          );
          req.on('error', reject);
          req.end('{}');
        });
    },
  };
}

export async function post(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: withAuth(url, { 'content-type': 'application/json' }), body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/**
 * A real one-node cluster (Docker driver, preload `runtime`) with no-op functions in warm agent
 * containers for Python and Node. Eight containers, so both functions stay warm side by side and
 * a "warm" figure never pays for a container start (the runs alternate between them). With
 * `curve: false` every daemon runs with FERRY_CURVE=off, on a node and under contender names of
 * its own, so it can run beside the default one.
 */
export async function startFerryBench(options: { curve?: boolean } = {}): Promise<FerryBench> {
  const plain = options.curve === false;
  const suffix = plain ? '-plain' : '';
  const cluster = await startCluster({
    workers: [`bench-node${suffix}`],
    logLevel: 'info',
    workerEnv: { FERRY_MAX_CONTAINERS: '8', FERRY_PRELOAD: 'runtime' },
    apiEnv: { FERRY_QUEUE_MAX: '50000' },
    ...(plain ? { env: { FERRY_CURVE: 'off' } } : {}),
  });
  for (const [rt, image, run] of [['py', 'pythonruntime', 'main.py'], ['js', 'noderuntime', 'index.js']] as const) {
    await post(`${cluster.url}/v1/runtimes`, { name: rt, image, path: '/ws', run, protocol: 'agent' });
  }
  const py = await makeBundle(cluster.dir, 'noop-py', { 'main.py': NOOP.python });
  await upload(`${cluster.url}/v1/functions/noop-py`, py.file, { runtime: 'py' });
  const js = await makeBundle(cluster.dir, 'noop-js', { 'index.js': NOOP.node });
  await upload(`${cluster.url}/v1/functions/noop-js`, js.file, { runtime: 'js' });
  const url = new URL(cluster.url);
  const images = [
    functionImage({ image: 'pythonruntime', path: '/ws', dependencies: '' }, py.sha256),
    functionImage({ image: 'noderuntime', path: '/ws', dependencies: '' }, js.sha256),
  ];
  const settle = (): Promise<void> => nodeSettled(cluster, images);
  const bench: FerryBench = {
    cluster,
    python: { ...invoker(url, 'noop-py', `ferry-noop-py${suffix}`), settle },
    node: { ...invoker(url, 'noop-js', `ferry-noop-js${suffix}`), settle },
    close: () => cluster.close(),
  };
  for (const c of [bench.python, bench.node]) {
    const one = await c.client();
    for (let i = 0; i < 200; i++) await one();
  }
  return bench;
}

/**
 * Waits until the bench node is quiet: the functions' `images` are baked (a bake follows a
 * function's first call by a few seconds) and its warm sandboxes have not changed for two seconds
 * (no container starting or giving way). Warm figures measured earlier would carry that work.
 */
async function nodeSettled(cluster: Cluster, images: string[]): Promise<void> {
  const baked = async (image: string): Promise<boolean> => exec('docker', ['image', 'inspect', image]).then(() => true, () => false);
  await waitUntil(async () => (await Promise.all(images.map(baked))).every(Boolean), `${images.join(', ')} are baked`, 120_000);
  const warmView = async (): Promise<string> => JSON.stringify((await (await fetch(`${cluster.url}/v1/nodes`, { headers: withAuth(cluster.url) })).json()) as unknown);
  let last = '';
  let stableSince = Date.now();
  await waitUntil(
    async () => {
      const view = (await warmView()).replace(/"lastHeartbeatAgoMs":\d+/g, '');
      if (view !== last) {
        last = view;
        stableSince = Date.now();
      }
      return Date.now() - stableSince >= 2_000;
    },
    'the bench node is quiet',
    120_000,
  );
}

/**
 * First calls of `n` never-seen functions, each while an empty sandbox of its runtime is warm:
 * median and slowest ms, HTTP in → result out.
 */
export async function firstCallsWithRuntimePreload(b: FerryBench, n: number): Promise<{ medianMs: number; maxMs: number }> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) ms.push(await firstCallWithRuntimePreload(b));
  return { medianMs: round(percentile(ms, 50)), maxMs: round(Math.max(...ms)) };
}

async function firstCallWithRuntimePreload(b: FerryBench): Promise<number> {
  const name = `fresh-${Date.now()}`;
  const bundle = await makeBundle(b.cluster.dir, name, { 'main.py': 'def main(params, ctx=None):\n    return "first"\n' });
  await upload(`${b.cluster.url}/v1/functions/${name}`, bundle.file, { runtime: 'py' });
  // The node keeps one empty python sandbox once it has room: wait until it reports one.
  await waitUntil(
    async () => {
      const nodes = (await (await fetch(`${b.cluster.url}/v1/nodes`, { headers: withAuth(b.cluster.url) })).json()) as { nodes: { warm: { runtime: string; fn: string | null; busy: boolean }[] }[] };
      return nodes.nodes[0]?.warm.some((w) => w.runtime === 'py' && w.fn === null && !w.busy) ?? false;
    },
    'an empty python sandbox is warm',
    30_000,
  );
  let result = '';
  const ms = await timeMs(async () => {
    result = String((await post(`${b.cluster.url}/v1/functions/${name}/invoke?wait=true`, {})).json['result']);
  });
  if (result !== 'first') throw new Error(`fresh function answered ${result}`);
  return ms;
}

/**
 * Backlog: `n` calls submitted at once (64 submitters) and drained, against the same calls run
 * with an empty queue; returns calls/s of the backlog.
 */
export async function backlogThroughput(b: FerryBench, n: number): Promise<number> {
  const url = new URL(b.cluster.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const submit = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: url.hostname, port: url.port, path: '/v1/functions/noop-py/invoke', method: 'POST', agent, headers: withAuth(url.href, { 'content-type': 'application/json', 'content-length': '2' }) }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 202 ? resolve() : reject(new Error(`async invoke answered ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end('{}');
    });
  const start = process.hrtime.bigint();
  let next = 0;
  await Promise.all(Array.from({ length: 64 }, async () => {
    while (next < n) {
      next += 1;
      await submit();
    }
  }));
  for (;;) {
    const health = (await (await fetch(`${b.cluster.url}/healthz`)).json()) as { queued: number; running: number };
    if (health.queued === 0 && health.running === 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  agent.destroy();
  return Math.round(n / (Number(process.hrtime.bigint() - start) / 1e9));
}

export interface UploadInterference {
  p50Ms: number;
  p99Ms: number;
  /** Invokes timed while the uploads ran. */
  samples: number;
  /** Bomb pushes made (each answered 400) and 100 MiB pushes stored. */
  bombs: number;
  bundles: number;
}

/**
 * Warm sync invokes (python agent, one client) timed while pushes run beside them: pushes of a
 * `mib` MiB bundle one after the other, until `samples` invokes are timed (at most `maxPushes`),
 * and all the while pushes of a 2 MiB gzip that inflates to 2 GiB, one after the other. Invokes
 * count from the first bomb's answer until the last bundle is stored, so the figure is what an
 * invoke sees while both kinds of push arrive; a push checked on the api's event loop shows here
 * as seconds.
 */
export async function invokeDuringUploads(b: FerryBench, opts: { samples: number; maxPushes: number; mib: number }): Promise<UploadInterference> {
  const { mib } = opts;
  const bundle = path.join(b.cluster.dir, 'during.tar.gz');
  await randomBundle(path.join(b.cluster.dir, 'during-bundle'), bundle, mib);
  const bomb = await makeGzipBomb(b.cluster.dir, 'bomb', 2 * 1024 * MiB);
  const one = await b.python.client();
  for (let i = 0; i < 50; i++) await one();
  const ms: number[] = [];
  let bundlesLeft = true;
  let bombs = 0;
  let bundles = 0;
  const bundleLoop = (async () => {
    try {
      while (bundles === 0 || (ms.length < opts.samples && bundles < opts.maxPushes)) {
        const pushed = await push(b.cluster.url, 'during', bundle);
        if (pushed.status !== 201) throw new Error(`the ${mib} MiB push answered ${pushed.status}: ${pushed.body}`);
        bundles += 1;
      }
    } finally {
      bundlesLeft = false;
    }
  })();
  const bombLoop = (async () => {
    while (bundlesLeft) {
      const refused = await push(b.cluster.url, 'bomb', bomb);
      if (refused.status !== 400) throw new Error(`the bomb push answered ${refused.status}: ${refused.body}`);
      bombs += 1;
    }
  })();
  const timing = (async () => {
    // Both kinds of push under way before the first invoke counts.
    await waitUntil(() => bombs > 0 || !bundlesLeft, 'a bomb push was answered', 60_000);
    while (bundlesLeft) {
      const took = await timeMs(one);
      if (bundlesLeft) ms.push(took);
    }
  })();
  await Promise.all([bundleLoop, bombLoop, timing]);
  return { p50Ms: round(percentile(ms, 50), 3), p99Ms: round(percentile(ms, 99), 3), samples: ms.length, bombs, bundles };
}
