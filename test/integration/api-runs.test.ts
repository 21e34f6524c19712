import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCallId } from '../../services/api/groups/runs.js';
import type { RunDetail, RunView } from '../../services/api/groups/run-view.js';
import { createDbClient } from '../../shared/clients/db-client.js';
import { newGroupId } from '../../shared/protocol/group.js';
import type { Call } from '../../shared/protocol/domain.js';
import { makeBundle } from '../helpers/bundles.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { curveTo } from '../helpers/curve.js';
import { fixture } from '../helpers/fixtures.js';
import { http, upload } from '../helpers/http.js';
import { waitUntil } from '../helpers/temp.js';
import { everyPage } from '../helpers/pages.js';

/**
 * Runs of N (Stevedore) on a real cluster. Every node id starts with `rn-`, so nothing here can
 * be taken for another test's node.
 */
const nodeId = (what: string): string => `rn-${what}-${Math.random().toString(36).slice(2, 8)}`;

/** A runtime no node could run for real: on a fake node that does not matter, which is the point. */
const unrunnable = { name: 'rn-nowhere', image: 'ferry-test/never-built', path: '/ws', run: 'sh main.sh', protocol: 'exec' };
const failingCode = { 'main.sh': 'echo "this must never run" >&2; exit 3\n' };

async function deploy(c: Cluster, name: string, fields: Record<string, string> = {}): Promise<void> {
  const b = await makeBundle(c.dir, name, failingCode);
  const r = await upload(`${c.url}/v1/functions/${name}`, b.file, { runtime: unrunnable.name, ...fields });
  expect(r.status, r.text).toBe(201);
}

async function startRun(c: Cluster, fn: string, body: unknown): Promise<string> {
  const r = await http<{ id: string }>('POST', `${c.url}/v1/functions/${fn}/runs`, body);
  expect(r.status, r.text).toBe(201);
  return r.body.id;
}

const getRun = async (c: Cluster, id: string): Promise<RunView> => {
  const r = await http<RunView>('GET', `${c.url}/v1/runs/${id}`);
  expect(r.status, r.text).toBe(200);
  return r.body;
};

async function allDetails(c: Cluster, id: string): Promise<RunDetail[]> {
  return (await everyPage<RunDetail>(`${c.url}/v1/runs/${id}/details?limit=4`, 'details')).sort((a, b) => a.detailId - b.detailId);
}

async function ended(c: Cluster, id: string, timeoutMs = 60_000): Promise<RunView> {
  let run!: RunView;
  await waitUntil(async () => !['QUEUED', 'RUNNING'].includes((run = await getRun(c, id)).status), `run ${id} has ended`, timeoutMs);
  return run;
}

function expectComplete(run: RunView, details: RunDetail[], times: number): void {
  expect(run).toMatchObject({ times, status: 'COMPLETE', counts: { DONE: times } });
  expect(run.end! >= run.start!).toBe(true);
  expect(run.duration).toBe(run.end! - run.start!);
  expect(details.map((d) => d.detailId)).toEqual(Array.from({ length: times }, (_, i) => i + 1));
  expect(new Set(details.map((d) => d.callId)).size).toBe(times);
  for (const d of details) {
    expect(d.status).toBe('DONE');
    expect(d.start! <= d.end!, JSON.stringify(d)).toBe(true);
    expect(d.start! >= run.start! && d.end! <= run.end!, JSON.stringify({ d, run })).toBe(true);
  }
}

describe('runs on a fake node', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster({ logLevel: 'info' });
    await c.startWorker(nodeId('fast'), { FERRY_DRIVER: 'fake', FERRY_MAX_CONTAINERS: '4', FERRY_FAKE_DELAY_MS: '20-200' });
    expect((await http('POST', `${c.url}/v1/runtimes`, unrunnable)).status).toBe(201);
    await deploy(c, 'rn-echo');
  });
  afterAll(async () => {
    await c?.close();
  });

  it('a run of 10 ends COMPLETE with 10 details, each DONE with its own call, its params echoed', async () => {
    const id = await startRun(c, 'rn-echo', { times: 10, params: { hello: 'run' } });
    const run = await ended(c, id);
    expect(run.function).toBe('rn-echo@1');
    const details = await allDetails(c, id);
    expectComplete(run, details, 10);
    const third = await http<RunDetail>('GET', `${c.url}/v1/runs/${id}/details/3`);
    expect(third.body).toEqual(details[2]);
    const call = await http<Call>('GET', `${c.url}/v1/calls/${third.body.callId}`);
    expect(call.body).toMatchObject({ status: 'DONE', result: JSON.stringify({ hello: 'run' }), groupId: id, groupIndex: 3 });
    expect((await http<{ runs: RunView[] }>('GET', `${c.url}/v1/runs?limit=100`)).body.runs.map((r) => r.id)).toContain(id);
  });

  it('answers 404 for an unknown run or detail, 400 for a bad body', async () => {
    for (const path of ['/v1/runs/nosuchrun000', '/v1/runs/nosuchrun000/details', '/v1/runs/bad-id!']) {
      const r = await http<{ error: { code: string } }>('GET', `${c.url}${path}`);
      expect(r.status, path).toBe(404);
      expect(r.body.error.code).toBe('NOT_FOUND');
    }
    const id = await startRun(c, 'rn-echo', { times: 1 });
    expect((await http('GET', `${c.url}/v1/runs/${id}/details/2`)).status).toBe(404);
    expect((await http('POST', `${c.url}/v1/functions/rn-missing/runs`, { times: 1 })).status).toBe(404);
    for (const body of [{}, { times: 0 }, { times: 10_001 }, { times: 1.5 }, { times: 2, param: {} }]) {
      const r = await http<{ error: { code: string; message: string } }>('POST', `${c.url}/v1/functions/rn-echo/runs`, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.message).toMatch(/bad body/);
    }
    await ended(c, id);
  });

  it('a run made before the api restarts ends COMPLETE after it, with all its details', async () => {
    const id = await startRun(c, 'rn-echo', { times: 20 });
    await c.restart('api');
    const run = await ended(c, id, 120_000);
    expectComplete(run, await allDetails(c, id), 20);
  });

  it('a run an api died while making is made whole by the next api, and ends COMPLETE', async () => {
    // What a dead api leaves: the run stored, two of its six calls made, the rest not.
    const db = createDbClient({ dbAddr: c.db.endpoint, requestTimeoutMs: 10_000, requestRetries: 0 }, curveTo(c.db.endpoint));
    const id = newGroupId();
    try {
      await db.call('createGroup', { id, kind: 'run', function: 'rn-echo@1', spec: { params: { k: 1 } }, total: 6 });
      for (const index of [1, 2]) {
        await db.call('createCall', { id: runCallId(id, index), funcName: 'rn-echo', version: 1, params: { k: 1 }, groupId: id, groupIndex: index });
      }
    } finally {
      await db.close();
    }
    await c.restart('api');
    const run = await ended(c, id, 120_000);
    expectComplete(run, await allDetails(c, id), 6);
  });
});

describe('a run cancelled mid-way on a fake node', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster({ logLevel: 'info' });
    // Two containers, and calls that would wait ten minutes: only the cancel ends them.
    await c.startWorker(nodeId('slow'), { FERRY_DRIVER: 'fake', FERRY_MAX_CONTAINERS: '2', FERRY_FAKE_DELAY_MS: '600000' });
    expect((await http('POST', `${c.url}/v1/runtimes`, unrunnable)).status).toBe(201);
    await deploy(c, 'rn-long', { timeoutMs: '3600000' });
  });
  afterAll(async () => {
    await c?.close();
  });

  it('ends KILLED: the running calls KILLED, the rest CANCELLED, counts adding up to times', async () => {
    const id = await startRun(c, 'rn-long', { times: 10 });
    await waitUntil(async () => (await getRun(c, id)).counts.RUNNING === 2, 'two calls of the run are running', 30_000);
    const r = await http<RunView>('POST', `${c.url}/v1/runs/${id}/cancel`);
    expect(r.status, r.text).toBe(200);
    const run = await ended(c, id);
    expect(run.status).toBe('KILLED');
    expect(run.cancelledAt).not.toBeNull();
    const { KILLED = 0, CANCELLED = 0, ...rest } = run.counts;
    expect(rest).toEqual({});
    expect(KILLED).toBeGreaterThanOrEqual(2);
    expect(KILLED + CANCELLED).toBe(10);
    const details = await allDetails(c, id);
    // A call killed had started; a call cancelled never had.
    for (const d of details) expect(d.start !== null, `detail ${d.detailId} ${d.status}`).toBe(d.status === 'KILLED');
    // A cancel of a run that has ended changes nothing.
    expect((await http<RunView>('POST', `${c.url}/v1/runs/${id}/cancel`)).body).toEqual(run);
  });

  it('ends CANCELLED when none of its calls had started', async () => {
    // Both containers are busy with a call of another run, so this one only waits.
    const busy = await startRun(c, 'rn-long', { times: 2 });
    await waitUntil(async () => (await getRun(c, busy)).counts.RUNNING === 2, 'the busy run runs', 30_000);
    const id = await startRun(c, 'rn-long', { times: 3 });
    const run = (await http<RunView>('POST', `${c.url}/v1/runs/${id}/cancel`)).body;
    expect(run).toMatchObject({ status: 'CANCELLED', counts: { CANCELLED: 3 }, start: null });
    await http('POST', `${c.url}/v1/runs/${busy}/cancel`);
  });
});

describe('a run of a python function that always fails (Docker)', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster({ workers: [nodeId('py')] });
    expect((await http('POST', `${c.url}/v1/runtimes`, { name: 'py-agent', image: 'pythonruntime', path: '/ws', run: 'main.py', protocol: 'agent' })).status).toBe(201);
    const b = await makeBundle(c.dir, 'rn-fails', await fixture('always-fails'));
    expect((await upload(`${c.url}/v1/functions/rn-fails`, b.file, { runtime: 'py-agent' })).status).toBe(201);
  });
  afterAll(async () => {
    await c?.close();
  });

  it('ends ERROR, every detail ERROR', async () => {
    const id = await startRun(c, 'rn-fails', { times: 10 });
    const run = await ended(c, id, 180_000);
    expect(run).toMatchObject({ status: 'ERROR', counts: { ERROR: 10 } });
    expect((await allDetails(c, id)).map((d) => d.status)).toEqual(Array(10).fill('ERROR'));
  }, 240_000);
});
