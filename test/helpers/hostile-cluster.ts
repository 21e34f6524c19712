import { expect } from 'vitest';
import type { Call } from '../../shared/protocol/domain.js';
import type { RefusedCounts } from '../../shared/refusals.js';
import { makeBundle } from './bundles.js';
import { startCluster, type Cluster } from './cluster.js';
import { http, upload } from './http.js';

/** A runtime no node runs for real: on the fake driver only the call's params come back. */
export const HOSTILE_RUNTIME = 'hx-rt';
export const HOSTILE_FUNCTION = 'hx-echo';

/** What `/healthz` says each daemon refused so far. */
export interface RefusedByDaemon {
  api: RefusedCounts;
  db: RefusedCounts;
  registry: RefusedCounts;
}

/**
 * A cluster to throw bad input at: a fake-driver node (`nodeId`, so no container runs), one
 * function, and calls accepted before anything hostile arrives: one ended DONE, one HELD.
 * `stillServes()` checks, after each kind of bad input, that a good invoke still ends DONE and
 * that those calls are as they were.
 */
export interface HostileCluster {
  c: Cluster;
  refused(): Promise<RefusedByDaemon>;
  stillServes(): Promise<void>;
  close(): Promise<void>;
}

export async function startHostileCluster(nodeId: string, apiEnv: Record<string, string> = {}): Promise<HostileCluster> {
  const c = await startCluster({ workers: [nodeId], workerEnv: { FERRY_DRIVER: 'fake' }, apiEnv });
  try {
    const rt = { name: HOSTILE_RUNTIME, image: 'ferry-test/never-built', path: '/ws', run: 'sh main.sh', protocol: 'exec' };
    expect((await http('POST', `${c.url}/v1/runtimes`, rt)).status).toBe(201);
    const bundle = await makeBundle(c.dir, 'hx-echo', { 'main.sh': 'echo "this never runs on a fake node"\n' });
    expect((await upload(`${c.url}/v1/functions/${HOSTILE_FUNCTION}`, bundle.file, { runtime: HOSTILE_RUNTIME })).status).toBe(201);
    const done = await http<Call>('POST', `${c.url}/v1/functions/${HOSTILE_FUNCTION}/invoke?wait=true`, { before: 'done' });
    expect(done.body.status).toBe('DONE');
    const held = await http<Call>('POST', `${c.url}/v1/functions/${HOSTILE_FUNCTION}/invoke?hold=true`, { before: 'held' });
    expect(held.status).toBe(202);
    const accepted = [await call(c, done.body.id), await call(c, held.body.id)];
    return {
      c,
      refused: async () => (await http<{ refused: RefusedByDaemon }>('GET', `${c.url}/healthz`)).body.refused,
      stillServes: async () => {
        const good = await http<Call>('POST', `${c.url}/v1/functions/${HOSTILE_FUNCTION}/invoke?wait=true`, { still: 'serving' });
        expect(good.body).toMatchObject({ status: 'DONE', params: { still: 'serving' } });
        for (const before of accepted) expect(await call(c, before.id)).toEqual(before);
      },
      close: () => c.close(),
    };
  } catch (err) {
    await c.close();
    throw err;
  }
}

const call = async (c: Cluster, id: string): Promise<Call> => (await http<Call>('GET', `${c.url}/v1/calls/${id}`)).body;

/** `after` less `before`, code by code, leaving out codes that did not change. */
export function refusedSince(before: RefusedCounts, after: RefusedCounts): RefusedCounts {
  const grown: RefusedCounts = {};
  for (const [code, n] of Object.entries(after) as [keyof RefusedCounts, number][]) {
    const was = before[code] ?? 0;
    if (n !== was) grown[code] = n - was;
  }
  return grown;
}
