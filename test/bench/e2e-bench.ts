import http from 'node:http';
import { makeBundle } from '../helpers/bundles.js';
import { startCluster } from '../helpers/cluster.js';
import { upload } from '../helpers/http.js';
import { percentile, round } from './stats.js';

export interface E2eBenchResult {
  p50Ms: number;
  p99Ms: number;
  callsPerSec: Record<number, number>;
}

const NOOP_PY = 'def main(params, ctx=None):\n    return ""\n';

/** One keep-alive connection per client, as a load generator would hold. */
function client(url: URL): (path: string, body: string) => Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return (path, body) =>
    new Promise((resolve, reject) => {
      const req = http.request(
        { host: url.hostname, port: url.port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
}

/**
 * End to end on one machine: HTTP in → result out for a no-op Python function in a warm agent
 * container (sync invoke), p50/p99 with one client, then calls/s with more clients in flight.
 */
export async function benchEndToEnd(quick: boolean): Promise<E2eBenchResult> {
  const c = await startCluster({ workers: ['bench-node'], logLevel: 'info', workerEnv: { FERRY_MAX_CONTAINERS: '4' } });
  try {
    const url = new URL(c.url);
    const one = client(url);
    await one('/v1/runtimes', JSON.stringify({ name: 'py-agent', image: 'pythonruntime', path: '/ws', run: 'main.py', protocol: 'agent' }));
    const b = await makeBundle(c.dir, 'noop', { 'main.py': NOOP_PY });
    await upload(`${c.url}/v1/functions/noop`, b.file, { runtime: 'py-agent' });
    const path = '/v1/functions/noop/invoke?wait=true';
    for (let i = 0; i < 300; i++) await one(path, '{}');

    const n = quick ? 500 : 3_000;
    const lat: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = process.hrtime.bigint();
      const status = await one(path, '{}');
      lat.push(Number(process.hrtime.bigint() - t) / 1e6);
      if (status !== 200) throw new Error(`invoke answered ${status}`);
    }
    const callsPerSec: Record<number, number> = {};
    for (const clients of [16, 64]) {
      const total = quick ? 2_000 : 10_000;
      let next = 0;
      const start = process.hrtime.bigint();
      await Promise.all(
        Array.from({ length: clients }, async () => {
          const send = client(url);
          while (next < total) {
            next += 1;
            const status = await send(path, '{}');
            if (status !== 200) throw new Error(`invoke answered ${status}`);
          }
        }),
      );
      callsPerSec[clients] = Math.round(total / (Number(process.hrtime.bigint() - start) / 1e9));
    }
    return { p50Ms: round(percentile(lat, 50), 3), p99Ms: round(percentile(lat, 99), 3), callsPerSec };
  } finally {
    await c.close();
  }
}
