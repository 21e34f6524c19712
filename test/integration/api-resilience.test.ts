import { describe, expect, it } from 'vitest';
import type { Call } from '../../shared/protocol/domain.js';
import { makeBundle } from '../helpers/bundles.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { FakeNode } from '../helpers/fake-node.js';
import { fixture } from '../helpers/fixtures.js';
import { http, upload } from '../helpers/http.js';
import { waitUntil } from '../helpers/temp.js';

const agentRuntime = { name: 'py-agent', image: 'pythonruntime', path: '/ws', run: 'main.py', protocol: 'agent' };

async function deploy(c: Cluster, name: string, files: Record<string, string>): Promise<void> {
  expect((await http('POST', `${c.url}/v1/runtimes`, agentRuntime)).status).toBe(201);
  const b = await makeBundle(c.dir, name, files);
  expect((await upload(`${c.url}/v1/functions/${name}`, b.file, { runtime: 'py-agent' })).status).toBe(201);
}

async function call(c: Cluster, id: string): Promise<Call> {
  return (await http<Call>('GET', `${c.url}/v1/calls/${id}`)).body;
}

async function allEnded(c: Cluster, ids: string[], timeoutMs = 90_000): Promise<Call[]> {
  let calls: Call[] = [];
  await waitUntil(
    async () => {
      calls = await Promise.all(ids.map((id) => call(c, id)));
      return calls.every((x) => x.status !== 'PENDING' && x.status !== 'RUNNING');
    },
    `all ${ids.length} calls have ended`,
    timeoutMs,
  );
  return calls;
}

describe('nothing accepted is lost', () => {
  it('a node killed with -9 mid-run: its calls finish on the other node, each once', async () => {
    const c = await startCluster({ workers: ['n1', 'n2'], workerEnv: { FERRY_MAX_CONTAINERS: '2' } });
    try {
      await deploy(c, 'slow', await fixture('slow'));
      const ids: string[] = [];
      for (let i = 0; i < 8; i++) ids.push((await http<{ id: string }>('POST', `${c.url}/v1/functions/slow/invoke`, { seconds: 1.5 })).body.id);
      await waitUntil(async () => (await Promise.all(ids.map((id) => call(c, id)))).some((x) => x.workerId === 'n1' && x.status === 'RUNNING'), 'a call runs on n1');
      await c.workers.get('n1')!.kill('SIGKILL');
      const calls = await allEnded(c, ids);
      expect(calls.map((x) => x.status)).toEqual(Array(8).fill('DONE'));
      expect(calls.every((x) => x.result === 'woke')).toBe(true);
      const moved = calls.filter((x) => x.attempt > 1);
      expect(moved.length).toBeGreaterThan(0);
      expect(moved.every((x) => x.workerId === 'n2')).toBe(true);
      expect(c.api.logs.some((l) => l['msg'] === 'node lost' && l['nodeId'] === 'n1')).toBe(true);
    } finally {
      await c.close();
    }
  });

  it('the DB daemon killed and restarted mid-run: every accepted call ends DONE', async () => {
    const c = await startCluster({ workers: ['n1'] });
    try {
      await deploy(c, 'echo', await fixture('ok'));
      const accepted: string[] = [];
      let refused = 0;
      const invoke = async (i: number): Promise<void> => {
        const r = await http<{ id: string }>('POST', `${c.url}/v1/functions/echo/invoke`, { i });
        if (r.status === 202) accepted.push(r.body.id);
        else refused += 1;
      };
      for (let i = 0; i < 60; i++) await invoke(i);
      await Promise.all([c.restart('db'), ...Array.from({ length: 20 }, (_, i) => invoke(100 + i))]);
      for (let i = 0; i < 60; i++) await invoke(200 + i);
      const calls = await allEnded(c, accepted);
      expect(calls.filter((x) => x.status !== 'DONE')).toEqual([]);
      expect(accepted.length + refused).toBe(140);
      expect(accepted.length).toBeGreaterThanOrEqual(120);
    } finally {
      await c.close();
    }
  });

  it('1,000 async invokes of a fast function: 1,000 DONE, each exactly once', async () => {
    const c = await startCluster({ workers: ['n1'] });
    try {
      await deploy(c, 'echo', await fixture('ok'));
      const ids: string[] = [];
      for (let batch = 0; batch < 20; batch++) {
        const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => http<{ id: string }>('POST', `${c.url}/v1/functions/echo/invoke`, batch * 50 + i)));
        for (const r of replies) {
          expect(r.status).toBe(202);
          ids.push(r.body.id);
        }
      }
      const seen = new Map<string, Call>();
      await waitUntil(
        async () => {
          seen.clear();
          let cursor: string | null = null;
          do {
            const page: { calls: Call[]; nextCursor: string | null } = (await http<{ calls: Call[]; nextCursor: string | null }>('GET', `${c.url}/v1/calls?funcName=echo&limit=1000${cursor ? `&cursor=${cursor}` : ''}`)).body;
            for (const x of page.calls) seen.set(x.id, x);
            cursor = page.nextCursor;
          } while (cursor);
          return [...seen.values()].every((x) => x.status === 'DONE');
        },
        '1,000 calls are DONE',
        120_000,
      );
      expect(seen.size).toBe(1_000);
      expect(new Set(ids)).toEqual(new Set(seen.keys()));
      const odd = [...seen.values()].filter((x) => !(x.attempt === 1 && x.result === JSON.stringify({ echo: x.params })));
      expect(odd.map((x) => ({ attempt: x.attempt, result: x.result, executions: x.executions }))).toEqual([]);
    } finally {
      await c.close();
    }
  });
});

describe('fencing', () => {
  it('drops a stale report from a node that came back after its call was requeued', async () => {
    const c = await startCluster();
    const a = new FakeNode('fake-a', c.env['FERRY_WORKERS_ADDR']!);
    const b = new FakeNode('fake-b', c.env['FERRY_WORKERS_ADDR']!);
    try {
      await deploy(c, 'echo', await fixture('ok'));
      a.join();
      await waitUntil(async () => (await http<{ nodes: unknown[] }>('GET', `${c.url}/v1/nodes`)).body.nodes.length === 1, 'fake-a joined');
      const { id } = (await http<{ id: string }>('POST', `${c.url}/v1/functions/echo/invoke`, { v: 'x' })).body;
      const first = await a.nextDispatch();
      expect(first).toMatchObject({ callId: id, attempt: 1 });

      a.fallSilent();
      await waitUntil(() => c.api.logs.some((l) => l['msg'] === 'node lost' && l['nodeId'] === 'fake-a'), 'the api declares fake-a lost', 15_000);
      b.join();
      const second = await b.nextDispatch();
      expect(second).toMatchObject({ callId: id, attempt: 2 });
      b.finish(second, 'from-b');
      await waitUntil(async () => (await call(c, id)).status === 'DONE', 'the call is DONE');

      a.finish(first, 'stale-from-a');
      await waitUntil(() => c.api.logs.some((l) => l['msg'] === 'stale report dropped' && l['callId'] === id), 'the stale report is dropped');
      expect(await call(c, id)).toMatchObject({ status: 'DONE', result: 'from-b', attempt: 2, workerId: 'fake-b' });

      // Back again, still running the old attempt: the api tells it to stop that run.
      a.join(1, [{ callId: id, attempt: 1 }]);
      await waitUntil(() => a.cancels.some((x) => x.callId === id && x.attempt === 1), 'fake-a is told to stop the stale run');
    } finally {
      a.close();
      b.close();
      await c.close();
    }
  });
});

describe('api restart', () => {
  it('carries on the PENDING calls it had accepted', async () => {
    const c = await startCluster();
    try {
      await deploy(c, 'echo', await fixture('ok'));
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await http<{ id: string }>('POST', `${c.url}/v1/functions/echo/invoke`, i)).body.id);
      await c.restart('api');
      await c.startWorker('after-restart');
      const calls = await allEnded(c, ids);
      expect(calls.map((x) => x.status)).toEqual(['DONE', 'DONE', 'DONE']);
    } finally {
      await c.close();
    }
  });

  it('adopts a call still running on a worker instead of running it again', async () => {
    const c = await startCluster({ workers: ['n1'] });
    try {
      await deploy(c, 'slow', await fixture('slow'));
      const { id } = (await http<{ id: string }>('POST', `${c.url}/v1/functions/slow/invoke`, { seconds: 3 })).body;
      await waitUntil(async () => (await call(c, id)).status === 'RUNNING', 'the call runs');
      await c.restart('api');
      const [done] = await allEnded(c, [id]);
      expect(done).toMatchObject({ status: 'DONE', result: 'woke', attempt: 1 });
    } finally {
      await c.close();
    }
  });
});
