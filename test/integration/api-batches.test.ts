import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchResult, BatchView } from '../../shared/protocol/batch-view.js';
import type { Call } from '../../shared/protocol/domain.js';
import type { Execution } from '../../shared/protocol/execution.js';
import { makeBundle } from '../helpers/bundles.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { runFerry } from '../helpers/ferry-cli.js';
import { fixture } from '../helpers/fixtures.js';
import { http, upload } from '../helpers/http.js';
import { waitUntil } from '../helpers/temp.js';
import { everyPage } from '../helpers/pages.js';

/**
 * Batch jobs (burst-compute) on a real cluster. Every node id starts with `bt-`, so nothing here
 * can be taken for another test's node.
 */
const nodeId = (what: string): string => `bt-${what}-${Math.random().toString(36).slice(2, 8)}`;

async function startBatch(c: Cluster, body: Record<string, unknown>): Promise<{ id: string; numBatches: number }> {
  const r = await http<{ id: string; numBatches: number }>('POST', `${c.url}/v1/batches`, body);
  expect(r.status, r.text).toBe(201);
  return r.body;
}

const getBatch = async (c: Cluster, id: string): Promise<BatchView> => {
  const r = await http<BatchView>('GET', `${c.url}/v1/batches/${id}`);
  expect(r.status, r.text).toBe(200);
  return r.body;
};

async function settled(c: Cluster, id: string, timeoutMs: number): Promise<BatchView> {
  let view!: BatchView;
  await waitUntil(async () => ['done', 'failed', 'cancelled'].includes((view = await getBatch(c, id)).state), `batch ${id} has settled`, timeoutMs);
  return view;
}

/** Every call of `funcName` (newest first). */
async function callsOf(c: Cluster, funcName: string): Promise<Call[]> {
  return everyPage<Call>(`${c.url}/v1/calls?funcName=${funcName}&limit=1000`, 'calls');
}

/** Every execution of the calls, from `/v1/calls/:id/executions` (a listed call shows only its current one). */
async function executionsOf(c: Cluster, calls: Call[]): Promise<Execution[]> {
  const out: Execution[] = [];
  for (const call of calls) out.push(...(await http<{ executions: Execution[] }>('GET', `${c.url}/v1/calls/${call.id}/executions`)).body.executions);
  return out;
}

/** The most executions running at once, from their own start and end times (an end before a start at the same ms). */
function mostAtOnce(executions: Execution[]): number {
  const edges: [number, number][] = [];
  for (const e of executions) {
    if (e.startedAt === null) continue;
    edges.push([e.startedAt, 1], [e.finishedAt ?? Number.MAX_SAFE_INTEGER, -1]);
  }
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let most = 0;
  for (const [, d] of edges) most = Math.max(most, (now += d));
  return most;
}

async function allResults(c: Cluster, id: string): Promise<BatchResult[]> {
  return (await everyPage<BatchResult>(`${c.url}/v1/batches/${id}/results?limit=3`, 'results')).sort((a, b) => a.batchId - b.batchId);
}

const job = { worker: 'bt-sum-range', combiner: 'bt-sum-results', startIndex: 0, endIndex: 1000, batchSize: 100, maxParallelism: 3, timeoutSecs: 600, params: { what: 'sum' } };
const expectedSum = (999 * 1000) / 2;

describe('batch jobs of python functions (Docker)', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster({ workers: [nodeId('py')], workerEnv: { FERRY_MAX_CONTAINERS: '6' } });
    expect((await http('POST', `${c.url}/v1/runtimes`, { name: 'py-agent', image: 'pythonruntime', path: '/ws', run: 'main.py', protocol: 'agent' })).status).toBe(201);
    for (const [name, dir] of [['bt-sum-range', 'sum-range'], ['bt-sum-results', 'sum-results']] as const) {
      const b = await makeBundle(c.dir, name, await fixture(dir));
      expect((await upload(`${c.url}/v1/functions/${name}`, b.file, { runtime: 'py-agent' })).status).toBe(201);
    }
  }, 120_000);
  afterAll(async () => {
    await c?.close();
  });

  it('runs at most maxParallelism batches at once and its combiner sums the partial results', async () => {
    const { id, numBatches } = await startBatch(c, job);
    expect(numBatches).toBe(10);
    const view = await settled(c, id, 240_000);
    expect(view, JSON.stringify(view)).toMatchObject({ state: 'done', numBatches: 10, counts: { DONE: 10 }, combinerResult: { sum: expectedSum, batches: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] } });
    const workers = (await callsOf(c, 'bt-sum-range')).filter((call) => call.groupId === id);
    expect(workers).toHaveLength(10);
    const executions = await executionsOf(c, workers);
    expect(executions.every((e) => e.startedAt !== null && e.finishedAt !== null), JSON.stringify(executions)).toBe(true);
    const most = mostAtOnce(executions);
    console.log(`batch of 10 python batches, maxParallelism 3: at most ${most} ran at once`);
    expect(most).toBeLessThanOrEqual(3);
    // Each batch's params name its own range.
    for (const w of workers) {
      const b = w.groupIndex! - 1;
      expect(w.params).toEqual({ jobId: id, batchId: b, startIndex: b * 100, endIndex: b * 100 + 100, jobParameters: { what: 'sum' } });
    }
    const results = await allResults(c, id);
    expect(results.map((r) => r.batchId)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(results.reduce((n, r) => n + (r.result as number), 0)).toBe(expectedSum);
    expect((await http<{ batches: BatchView[] }>('GET', `${c.url}/v1/batches`)).body.batches.map((b) => b.id)).toContain(id);
  }, 300_000);

  it('carries on after the api is killed mid-way and calls its combiner exactly once', async () => {
    const { id } = await startBatch(c, job);
    let before!: BatchView;
    await waitUntil(async () => ((before = await getBatch(c, id)).counts.DONE ?? 0) >= 3, `3 batches of ${id} are done`, 120_000);
    await c.restart('api');
    console.log(`batch ${id}: api killed at ${JSON.stringify(before.counts)}`);
    const view = await settled(c, id, 240_000);
    expect(view, JSON.stringify(view)).toMatchObject({ state: 'done', counts: { DONE: 10 }, combinerResult: { sum: expectedSum } });
    const workers = (await callsOf(c, 'bt-sum-range')).filter((call) => call.groupId === id);
    expect(workers.map((w) => w.groupIndex).sort((a, b) => a! - b!)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const combiners = (await callsOf(c, 'bt-sum-results')).filter((call) => (call.params as { jobId?: string }).jobId === id);
    expect(combiners.map((x) => x.id)).toEqual([view.combinerCallId]);
  }, 300_000);

  it('a cancelled batch job cancels its unfinished batches and calls no combiner', async () => {
    const { id } = await startBatch(c, { ...job, maxParallelism: 2 });
    await waitUntil(async () => ((await getBatch(c, id)).counts.DONE ?? 0) >= 1, `a batch of ${id} is done`, 120_000);
    const r = await http<BatchView>('POST', `${c.url}/v1/batches/${id}/cancel`);
    expect(r.status, r.text).toBe(200);
    const view = await settled(c, id, 60_000);
    expect(view.state).toBe('cancelled');
    await waitUntil(async () => {
      const v = await getBatch(c, id);
      const made = Object.values(v.counts).reduce((n, k) => n + k, 0);
      return (v.counts.DONE ?? 0) + (v.counts.CANCELLED ?? 0) + (v.counts.KILLED ?? 0) === made;
    }, `every call of ${id} has ended`, 60_000);
    expect((await getBatch(c, id)).combinerCallId).toBeNull();
    expect((await callsOf(c, 'bt-sum-results')).filter((call) => (call.params as { jobId?: string }).jobId === id)).toHaveLength(0);
  }, 300_000);
});

/** A runtime no node could run for real: on a fake node that does not matter, which is the point. */
const unrunnable = { name: 'bt-nowhere', image: 'ferry-test/never-built', path: '/ws', run: 'sh main.sh', protocol: 'exec' };

/** A cluster with `names` pushed on {@link unrunnable}: batch jobs of them run only on fake nodes. */
async function clusterWithUnrunnable(names: string[]): Promise<Cluster> {
  const c = await startCluster();
  expect((await http('POST', `${c.url}/v1/runtimes`, unrunnable)).status).toBe(201);
  for (const name of names) {
    const b = await makeBundle(c.dir, name, { 'main.sh': 'echo "this must never run" >&2; exit 3\n' });
    expect((await upload(`${c.url}/v1/functions/${name}`, b.file, { runtime: unrunnable.name })).status).toBe(201);
  }
  return c;
}

describe('a batch job of 10,000 batches on a fake node', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await clusterWithUnrunnable(['bt-echo', 'bt-combine']);
    await c.startWorker(nodeId('fake'), { FERRY_DRIVER: 'fake', FERRY_MAX_CONTAINERS: '8', FERRY_FAKE_DELAY_MS: '0-2' });
  });
  afterAll(async () => {
    await c?.close();
  });

  const rssKb = async (): Promise<number> => {
    const status = await readFile(`/proc/${c.api.proc.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  };

  it('completes, its combiner given every batch in order', async () => {
    const started = Date.now();
    const { id, numBatches } = await startBatch(c, { worker: 'bt-echo', combiner: 'bt-combine', startIndex: 0, endIndex: 10_000, batchSize: 1, maxParallelism: 8, timeoutSecs: 3600 });
    expect(numBatches).toBe(10_000);
    await waitUntil(async () => ((await getBatch(c, id)).counts.DONE ?? 0) >= 1000, `1,000 batches of ${id} are done`, 300_000);
    const rss1k = await rssKb();
    const view = await settled(c, id, 900_000);
    const rss10k = await rssKb();
    expect(view, JSON.stringify({ ...view, combinerResult: null })).toMatchObject({ state: 'done', counts: { DONE: 10_000 } });
    // The fake node answers the params' JSON text: the combiner's result is what it was given.
    const given = view.combinerResult as { jobId: string; results: BatchResult[] };
    expect(given.jobId).toBe(id);
    expect(given.results.map((r) => r.batchId)).toEqual(Array.from({ length: 10_000 }, (_, i) => i));
    expect(given.results[42]).toMatchObject({ startIndex: 42, endIndex: 43, status: 'DONE', result: { batchId: 42, startIndex: 42, endIndex: 43 } });
    console.log(
      `batch of 10,000 on a fake node: ${((Date.now() - started) / 1000).toFixed(1)} s; api RSS ${(rss1k / 1024).toFixed(0)} MiB after 1,000 batches, ${(rss10k / 1024).toFixed(0)} MiB after 10,000`,
    );
  }, 1_000_000);
});

describe('batch jobs that time out or outlive their results (fake nodes)', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await clusterWithUnrunnable(['bt-echo', 'bt-combine']);
  });
  afterAll(async () => {
    await c?.close();
  });

  it('stops showing a partial result once its resultTtlSecs have passed', async () => {
    const w = await c.startWorker(nodeId('quick'), { FERRY_DRIVER: 'fake', FERRY_MAX_CONTAINERS: '2', FERRY_FAKE_DELAY_MS: '0-2' });
    const { id } = await startBatch(c, { worker: 'bt-echo', combiner: 'bt-combine', startIndex: 0, endIndex: 4, batchSize: 2, maxParallelism: 2, timeoutSecs: 600, resultTtlSecs: 1 });
    const view = await settled(c, id, 60_000);
    expect(view.state).toBe('done');
    await waitUntil(async () => (await allResults(c, id)).every((r) => r.expired && r.result === null), `the results of ${id} have expired`, 30_000);
    // The calls themselves stay (the call store keeps them by its own retention).
    expect((await allResults(c, id)).map((r) => r.status)).toEqual(['DONE', 'DONE']);
    await w.kill();
  }, 120_000);

  it('past timeoutSecs cancels its unfinished batches, then combines what it has when the failures are tolerated', async () => {
    const w = await c.startWorker(nodeId('stuck'), { FERRY_DRIVER: 'fake', FERRY_MAX_CONTAINERS: '2', FERRY_FAKE_DELAY_MS: '600000' });
    const tolerant = await startBatch(c, { worker: 'bt-echo', combiner: 'bt-combine', startIndex: 0, endIndex: 6, batchSize: 1, maxParallelism: 2, timeoutSecs: 1, toleratedFailures: '100%' });
    const strict = await startBatch(c, { worker: 'bt-echo', combiner: 'bt-combine', startIndex: 0, endIndex: 6, batchSize: 1, maxParallelism: 2, timeoutSecs: 1 });
    // Its combiner is called (and sits on the stuck node, like the batches: its params are what count here).
    let view!: BatchView;
    await waitUntil(async () => (view = await getBatch(c, tolerant.id)).state === 'combining', `batch ${tolerant.id} is combining`, 60_000);
    const combiner = (await http<Call>('GET', `${c.url}/v1/calls/${view.combinerCallId}`)).body;
    const given = combiner.params as { jobId: string; results: BatchResult[] };
    expect(given.jobId).toBe(tolerant.id);
    // Only the batches made before the deadline were run, and they were stopped.
    expect(given.results.map((r) => r.batchId)).toEqual([0, 1]);
    for (const r of given.results) expect(['KILLED', 'CANCELLED']).toContain(r.status);
    const failed = await settled(c, strict.id, 60_000);
    expect(failed).toMatchObject({ state: 'failed', combinerCallId: null });
    expect(failed.error).toMatch(/did not succeed/);
    await w.kill('SIGKILL');
  }, 120_000);

  it('refuses to call its combiner when the partial results would pass 4 MiB of params, and says so', async () => {
    const w = await c.startWorker(nodeId('big'), { FERRY_DRIVER: 'fake', FERRY_MAX_CONTAINERS: '4', FERRY_FAKE_DELAY_MS: '0-2' });
    // The fake node answers its params: each partial result carries the 600 kB of job parameters.
    const { id } = await startBatch(c, { worker: 'bt-echo', combiner: 'bt-combine', startIndex: 0, endIndex: 8, batchSize: 1, maxParallelism: 4, timeoutSecs: 600, params: { pad: 'x'.repeat(600_000) } });
    const view = await settled(c, id, 60_000);
    expect(view).toMatchObject({ state: 'failed', counts: { DONE: 8 }, combinerCallId: null });
    expect(view.error).toMatch(/past the combiner's limit/);
    await w.kill();
  }, 120_000);
});

describe('ferry batch start, show, results, cancel (fake node)', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await clusterWithUnrunnable(['bt-cli-echo', 'bt-cli-combine']);
    await c.startWorker(nodeId('cli'), { FERRY_DRIVER: 'fake', FERRY_MAX_CONTAINERS: '2', FERRY_FAKE_DELAY_MS: '0-5' });
  });
  afterAll(async () => c?.close());

  it('starts a job, shows it done with its partial results; a job already combined is not cancelled', async () => {
    const ferry = (...args: string[]) => runFerry(c.url, args);
    const started = await ferry('batch', 'start', 'bt-cli-echo', 'bt-cli-combine', '--end', '6', '--batch-size', '2', '--parallelism', '2', '-p', 'k=v');
    expect(started.code, started.stderr).toBe(0);
    const id = started.stdout.trim();
    await settled(c, id, 60_000);
    const shown = await ferry('batch', 'show', id, '--json');
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ id, state: 'done', numBatches: 3, counts: { DONE: 3 } });
    expect((await ferry('batch', 'show', id)).stdout).toMatch(new RegExp(`^batch ${id}: done — 3 DONE of 3`));
    const results = await ferry('batch', 'results', id, '--json');
    expect((JSON.parse(results.stdout) as { results: BatchResult[] }).results.map((r) => r.batchId).sort()).toEqual([0, 1, 2]);
    expect((await ferry('batch', 'results', id)).stdout).toContain('4..6');
    const cancelled = await ferry('batch', 'cancel', id, '--json');
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(JSON.parse(cancelled.stdout)).toMatchObject({ state: 'done' });
    expect((await ferry('batch', 'start', 'bt-cli-echo', 'bt-cli-combine', '--end', 'x', '--batch-size', '1')).code).not.toBe(0);

    // --follow waits for the end and prints the job as show does.
    const followed = await ferry('batch', 'start', 'bt-cli-echo', 'bt-cli-combine', '--end', '4', '--batch-size', '1', '--follow', '--json');
    expect(followed.code, followed.stderr).toBe(0);
    expect(JSON.parse(followed.stdout)).toMatchObject({ state: 'done', numBatches: 4, counts: { DONE: 4 } });
  }, 120_000);
});
