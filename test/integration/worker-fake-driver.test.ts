import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../shared/config.js';
import type { Call } from '../../shared/protocol/domain.js';
import type { Execution } from '../../shared/protocol/execution.js';
import { drawDelayMs } from '../../services/worker/drivers/fake-sandbox.js';
import { makeBundle } from '../helpers/bundles.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { http, upload } from '../helpers/http.js';
import { startSupervisedCluster } from '../helpers/supervised-cluster.js';
import { waitUntil } from '../helpers/temp.js';
import { everyPage } from '../helpers/pages.js';

type CallView = Omit<Call, 'executions'> & { currentExecution: Execution | null };

const CALLS = 2_000;
const CAPACITY = 4;
const STARTUP_LINE = 'using the fake driver: nothing runs; every call ends DONE echoing its params';

/** Fake node ids start with `fk-`, so nothing here can be taken for another test's node. */
const fakeNodeId = (what: string): string => `fk-${what}-${Math.random().toString(36).slice(2, 8)}`;

/**
 * A runtime no node could run for real: its image was never built and its command fails. On a
 * fake node that does not matter, which is the point.
 */
const unrunnable = { name: 'fk-nowhere', image: 'ferry-test/never-built', path: '/ws', run: 'sh main.sh', protocol: 'exec' };
const failingCode = { 'main.sh': 'echo "this must never run" >&2; exit 3\n' };

async function deploy(url: string, dir: string, name: string, fields: Record<string, string> = {}): Promise<void> {
  const b = await makeBundle(dir, name, failingCode);
  const r = await upload(`${url}/v1/functions/${name}`, b.file, { runtime: unrunnable.name, ...fields });
  expect(r.status, r.text).toBe(201);
}

async function invoke(url: string, fn: string, params: unknown): Promise<string> {
  const r = await http<{ id: string }>('POST', `${url}/v1/functions/${fn}/invoke`, params);
  expect(r.status, r.text).toBe(202);
  return r.body.id;
}

const getCall = async (url: string, id: string): Promise<CallView> => (await http<CallView>('GET', `${url}/v1/calls/${id}`)).body;

async function listCalls(url: string, query: string): Promise<CallView[]> {
  return everyPage<CallView>(`${url}/v1/calls?limit=1000&${query}`, 'calls');
}

const anyCall = async (url: string, query: string): Promise<boolean> =>
  (await http<{ calls: CallView[] }>('GET', `${url}/v1/calls?limit=1&${query}`)).body.calls.length > 0;

/** Containers Docker holds for `nodeId` (any state): a fake node must never make one. */
const containersOf = (nodeId: string): string[] =>
  execFileSync('docker', ['ps', '-a', '-q', '--filter', `label=ferry.node=${nodeId}`], { encoding: 'utf8' }).split('\n').filter(Boolean);

/**
 * The most intervals that hold one instant. Half-open `[startedAt, finishedAt)`: a container's
 * next call may start in the very millisecond its previous one ended, and that is not two at once.
 */
function maxOverlap(intervals: { start: number; end: number }[]): number {
  // At one instant, ends go before starts (the half-open rule above).
  const edges = intervals.flatMap((i) => [
    { at: i.start, step: 1 },
    { at: i.end, step: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.step - b.step);
  let now = 0;
  let most = 0;
  for (const e of edges) {
    now += e.step;
    most = Math.max(most, now);
  }
  return most;
}

describe('FERRY_FAKE_DELAY_MS and FERRY_DRIVER=fake in the configuration', () => {
  it('reads a fixed delay, a range, and none; refuses a reversed range or a word, naming the variable', () => {
    expect(loadConfig({}).worker.fakeDelay).toEqual({ minMs: 0, maxMs: 0 });
    expect(loadConfig({ FERRY_FAKE_DELAY_MS: '25' }).worker.fakeDelay).toEqual({ minMs: 25, maxMs: 25 });
    expect(loadConfig({ FERRY_FAKE_DELAY_MS: '5-50', FERRY_DRIVER: 'fake' }).worker).toMatchObject({ driver: 'fake', fakeDelay: { minMs: 5, maxMs: 50 } });
    for (const bad of ['50-5', 'soon', '-5', '5-', '90000000000']) {
      expect(() => loadConfig({ FERRY_FAKE_DELAY_MS: bad }), bad).toThrow(ConfigError);
      expect(() => loadConfig({ FERRY_FAKE_DELAY_MS: bad }), bad).toThrow(/FERRY_FAKE_DELAY_MS/);
    }
  });

  it('draws every whole ms of a range, both ends included, and nothing outside it', () => {
    const seen = new Set(Array.from({ length: 10_000 }, () => drawDelayMs({ minMs: 5, maxMs: 7 })));
    expect([...seen].sort()).toEqual([5, 6, 7]);
    expect(drawDelayMs({ minMs: 9, maxMs: 9 })).toBe(9);
  });
});

describe('a fake node in a real cluster', () => {
  let c: Cluster;
  const nodeId = fakeNodeId('load');
  beforeAll(async () => {
    c = await startCluster({ logLevel: 'info' });
    // A delay of a few ms gives every execution an interval of its own to measure overlap with.
    await c.startWorker(nodeId, { FERRY_DRIVER: 'fake', FERRY_MAX_CONTAINERS: String(CAPACITY), FERRY_FAKE_DELAY_MS: '3-8' });
    expect((await http('POST', `${c.url}/v1/runtimes`, unrunnable)).status).toBe(201);
    await deploy(c.url, c.dir, 'echo');
    await deploy(c.url, c.dir, 'too-slow', { timeoutMs: '1' });
  });
  afterAll(async () => {
    await c?.close();
  });

  it('names the fake driver at start, in its hello and on /v1/nodes', async () => {
    const worker = c.workers.get(nodeId)!;
    expect(worker.logs.find((l) => l['msg'] === STARTUP_LINE)).toMatchObject({ driver: 'fake', fakeDelay: { minMs: 3, maxMs: 8 } });
    const nodes = (await http<{ nodes: { nodeId: string; driver: string; capacity: { maxContainers: number } }[] }>('GET', `${c.url}/v1/nodes`)).body.nodes;
    expect(nodes).toEqual([expect.objectContaining({ nodeId, driver: 'fake', capacity: expect.objectContaining({ maxContainers: CAPACITY }) })]);
  });

  it(`ends ${CALLS} async invokes DONE with their params echoed, never more than ${CAPACITY} at once, and makes no container`, async () => {
    const began = Date.now();
    const ids = new Map<string, number>();
    // 32 invokes in flight: a busy client, not a burst the api would answer 429 to.
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < CALLS) {
          const n = next++;
          ids.set(await invoke(c.url, 'echo', { n }), n);
        }
      }),
    );
    const accepted = Date.now();
    // Every call is stored before its 202: none PENDING or RUNNING means all have ended.
    await waitUntil(async () => !(await anyCall(c.url, 'funcName=echo&status=PENDING')) && !(await anyCall(c.url, 'funcName=echo&status=RUNNING')), `all ${CALLS} calls have ended`, 300_000);
    const observed = Date.now();

    const calls = await listCalls(c.url, 'funcName=echo');
    expect(calls).toHaveLength(CALLS);
    const intervals: { start: number; end: number }[] = [];
    for (const call of calls) {
      const n = ids.get(call.id);
      expect(n, `call ${call.id} is one of ours`).toBeDefined();
      expect(call).toMatchObject({ status: 'DONE', result: JSON.stringify({ n }), attempt: 1, exitCode: 0 });
      const e = call.currentExecution!;
      expect(e).toMatchObject({ attempt: 1, state: 'DONE', nodeId });
      // Each lasted its delay, so each interval holds time: the overlap below counts every call.
      expect(e.finishedAt! > e.startedAt!, `execution ${e.executionId} lasted no time`).toBe(true);
      intervals.push({ start: e.startedAt!, end: e.finishedAt! });
    }
    const most = maxOverlap(intervals);
    expect(most).toBeLessThanOrEqual(CAPACITY);
    expect(most).toBeGreaterThan(1); // the node did run calls side by side
    expect(containersOf(nodeId)).toEqual([]);

    // The figures for the record (the node's own clock for the last end; same host as this test).
    const lastEnd = Math.max(...intervals.map((i) => i.end));
    const tookMs = lastEnd - began;
    console.log(
      `fake driver: ${CALLS} async calls, ${CAPACITY} containers, delay 3-8 ms: invoked in ${accepted - began} ms, ` +
        `all DONE ${tookMs} ms after the first invoke (${Math.round((CALLS * 1000) / tookMs)} calls/s; ended seen by polling after ${observed - began} ms), ` +
        `at most ${most} at once`,
    );
  });

  it('ends a call TIMEOUT when its delay reaches the function\'s timeout', async () => {
    const id = await invoke(c.url, 'too-slow', { n: -1 });
    await waitUntil(async () => !['PENDING', 'RUNNING'].includes((await getCall(c.url, id)).status), 'the call has ended', 30_000);
    const call = await getCall(c.url, id);
    expect(call).toMatchObject({ status: 'TIMEOUT', error: { code: 'TIMEOUT' }, currentExecution: { state: 'TIMEOUT', nodeId } });
    expect(call.result ?? '').toBe('');
  });
});

describe('a fake node whose calls wait long', () => {
  let c: Cluster;
  const nodeId = fakeNodeId('wait');
  beforeAll(async () => {
    c = await startCluster({ logLevel: 'info' });
    // One container, and calls that would wait ten minutes: only a cancel or a timeout ends one.
    await c.startWorker(nodeId, { FERRY_DRIVER: 'fake', FERRY_MAX_CONTAINERS: '1', FERRY_FAKE_DELAY_MS: '600000' });
    expect((await http('POST', `${c.url}/v1/runtimes`, unrunnable)).status).toBe(201);
    await deploy(c.url, c.dir, 'long', { timeoutMs: '3600000' });
    await deploy(c.url, c.dir, 'short', { timeoutMs: '200' });
  });
  afterAll(async () => {
    await c?.close();
  });

  it('a cancel ends a waiting call KILLED and frees its container: the next call runs, to its timeout', async () => {
    const long = await invoke(c.url, 'long', { n: 1 });
    await waitUntil(async () => (await getCall(c.url, long)).status === 'RUNNING', 'the long call runs', 30_000);
    const killed = await http<CallView>('POST', `${c.url}/v1/calls/${long}/cancel`);
    expect(killed.status).toBe(200);
    expect(killed.body).toMatchObject({ status: 'KILLED', currentExecution: { state: 'KILLED', nodeId } });

    // The node's one container is free only if the cancel ended the ten-minute wait.
    const short = await invoke(c.url, 'short', { n: 2 });
    await waitUntil(async () => !['PENDING', 'RUNNING'].includes((await getCall(c.url, short)).status), 'the short call has ended', 30_000);
    expect(await getCall(c.url, short)).toMatchObject({ status: 'TIMEOUT', error: { code: 'TIMEOUT' }, currentExecution: { state: 'TIMEOUT', nodeId } });
    // The late report of the cancelled run changed nothing.
    expect(await getCall(c.url, long)).toMatchObject({ status: 'KILLED' });
    // Nor did the node take the removed sandbox for a failure of its own.
    expect(c.workers.get(nodeId)!.logs.filter((l) => Number(l['level']) >= 50)).toEqual([]);
    expect(containersOf(nodeId)).toEqual([]);
  });
});

describe('npm start with FERRY_DRIVER=fake', () => {
  it('starts without Docker images or a runtime, and a sync invoke comes back DONE with its params', async () => {
    const nodeId = fakeNodeId('start');
    const c = await startSupervisedCluster({ FERRY_DRIVER: 'fake', FERRY_NODE_ID: nodeId });
    try {
      expect(c.logs.some((l) => l['daemon'] === 'worker' && l['msg'] === STARTUP_LINE)).toBe(true);
      // The supervisor skips Docker and the image build: the worker is the fake one, not `process`.
      expect(c.logs.some((l) => typeof l['msg'] === 'string' && l['msg'].includes('runtime images'))).toBe(false);
      const nodes = async (): Promise<{ nodeId: string; driver: string }[]> =>
        (await http<{ nodes: { nodeId: string; driver: string }[] }>('GET', `${c.url}/v1/nodes`)).body.nodes;
      await waitUntil(async () => (await nodes()).length > 0, 'the node has joined', 30_000);
      expect(await nodes()).toEqual([expect.objectContaining({ nodeId, driver: 'fake' })]);

      expect((await http('POST', `${c.url}/v1/runtimes`, unrunnable)).status).toBe(201);
      await deploy(c.url, c.dir, 'dry-run');
      const r = await http<CallView>('POST', `${c.url}/v1/functions/dry-run/invoke?wait=true`, { step: 'extract', rows: [1, 2] });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ status: 'DONE', result: '{"step":"extract","rows":[1,2]}' });
      expect(containersOf(nodeId)).toEqual([]);
    } finally {
      await c.close();
    }
  });
});
