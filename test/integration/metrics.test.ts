import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ConfigError, loadConfig } from '../../shared/config.js';
import type { Call } from '../../shared/protocol/domain.js';
import { makeBundle } from '../helpers/bundles.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { curveTo } from '../helpers/curve.js';
import { spawnDaemon } from '../helpers/daemon.js';
import { http, upload } from '../helpers/http.js';
import { parsePrometheusText, valueOf, type Family } from '../helpers/prometheus.js';
import { stranger } from '../helpers/stranger.js';
import { makeTempDir, waitUntil } from '../helpers/temp.js';

/** A runtime no node could run for real; on the fake driver's node that does not matter. */
const runtime = { name: 'pm-nowhere', image: 'ferry-test/never-built', path: '/ws', run: 'sh main.sh', protocol: 'exec' };
const FN = 'pm-echo';
const CALLS = 6;
const NO_KEY = { authorization: '' };
const nodeId = `pm-${Math.random().toString(36).slice(2, 8)}`;

type Metrics = Map<string, Family>;

/** Scrapes `url` (with the cluster's admin key, for the api) and parses it strictly. */
async function scrape(url: string): Promise<Metrics> {
  const r = await http<string>('GET', url);
  expect(r.status, r.text).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(r.text);
}

describe('GET /metrics of every daemon (real cluster, fake driver)', () => {
  let c: Cluster;
  let urls: Record<'api' | 'db' | 'registry' | 'worker', string>;
  let bundleSize: number;

  beforeAll(async () => {
    c = await startCluster({ workers: [nodeId], workerEnv: { FERRY_DRIVER: 'fake' } });
    const worker = c.workers.get(nodeId)!;
    urls = { api: `${c.url}/metrics`, db: c.db.metricsUrl!, registry: c.registry.metricsUrl!, worker: worker.metricsUrl! };
    expect((await http('POST', `${c.url}/v1/runtimes`, runtime)).status).toBe(201);
    const b = await makeBundle(c.dir, FN, { 'main.sh': 'echo never runs on a fake node\n' });
    bundleSize = b.size;
    const r = await upload(`${c.url}/v1/functions/${FN}`, b.file, { runtime: runtime.name });
    expect(r.status, r.text).toBe(201);
    await waitUntil(async () => (await http<{ nodes: { nodeId: string }[] }>('GET', `${c.url}/v1/nodes`)).body.nodes.some((n) => n.nodeId === nodeId), 'the node joins');
  });
  afterAll(async () => c?.close());

  it('names the metrics port of each daemon but the api in its listening line, on loopback', () => {
    for (const d of [c.db, c.registry, c.workers.get(nodeId)!]) expect(d.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(c.api.metricsUrl).toBeNull();
  });

  it('serves each daemon in the Prometheus text format, with process metrics and its own', async () => {
    const own = {
      api: ['ferry_calls_created_total', 'ferry_calls_ended_total', 'ferry_call_run_seconds', 'ferry_queue_calls', 'ferry_delayed_calls', 'ferry_nodes_up', 'ferry_node_containers_warm', 'ferry_executions_requeued_total'],
      db: ['ferry_db_write_batches_total', 'ferry_db_write_seconds', 'ferry_db_calls'],
      registry: ['ferry_bundle_bytes_in_total', 'ferry_bundle_bytes_out_total'],
      worker: ['ferry_worker_containers_warm', 'ferry_worker_calls_running', 'ferry_worker_containers_max', 'ferry_bundle_bytes_in_total'],
    };
    for (const [daemon, url] of Object.entries(urls) as [keyof typeof own, string][]) {
      const m = await scrape(url);
      for (const name of [...own[daemon], 'ferry_refused_inputs_total', 'ferry_zmq_handshakes_refused_total', 'process_cpu_user_seconds_total', 'nodejs_heap_size_used_bytes']) {
        expect(m.has(name), `${daemon} shows ${name}`).toBe(true);
      }
      for (const family of m.values()) {
        if (family.name.startsWith('ferry_')) expect(family.help, family.name).not.toBe('');
        if (family.type === 'counter') expect(family.name, `${daemon}: a counter's name ends _total`).toMatch(/_total$/);
      }
    }
    const api = await scrape(urls.api);
    expect(valueOf(api, 'ferry_nodes_up')).toBe(1);
    expect(valueOf(api, 'ferry_bundle_bytes_in_total')).toBe(bundleSize);
    expect(valueOf(await scrape(urls.registry), 'ferry_bundle_bytes_in_total')).toBeGreaterThanOrEqual(bundleSize);
    expect(valueOf(await scrape(urls.worker), 'ferry_worker_containers_max')).toBe(4);
  });

  it('moves the call counters and histograms by the calls made, labelled by function and status, never by call', async () => {
    const before = { api: await scrape(urls.api), db: await scrape(urls.db), worker: await scrape(urls.worker) };
    const ids: string[] = [];
    for (let i = 0; i < CALLS; i++) {
      const r = await http<{ id: string }>('POST', `${c.url}/v1/functions/${FN}/invoke`, { i });
      expect(r.status, r.text).toBe(202);
      ids.push(r.body.id);
    }
    await waitUntil(async () => {
      const calls = await Promise.all(ids.map(async (id) => (await http<Call>('GET', `${c.url}/v1/calls/${id}`)).body));
      return calls.every((call) => call.status === 'DONE');
    }, 'every call ends DONE');
    const after = { api: await scrape(urls.api), db: await scrape(urls.db), worker: await scrape(urls.worker) };
    const grew = (d: keyof typeof after, name: string, labels: Record<string, string> = {}): number => valueOf(after[d], name, labels) - valueOf(before[d], name, labels);

    const fn = { function: FN };
    expect(grew('api', 'ferry_calls_created_total', fn)).toBe(CALLS);
    expect(grew('api', 'ferry_calls_ended_total', { ...fn, status: 'DONE' })).toBe(CALLS);
    expect(grew('api', 'ferry_calls_ended_total', { ...fn, status: 'ERROR' })).toBe(0);
    for (const phase of ['queued', 'init', 'run']) expect(grew('api', `ferry_call_${phase}_seconds_count`, fn), phase).toBe(CALLS);
    expect(grew('worker', 'ferry_worker_calls_finished_total', { status: 'DONE' })).toBe(CALLS);
    expect(grew('db', 'ferry_db_write_batches_total')).toBeGreaterThan(0);
    expect(grew('db', 'ferry_db_write_seconds_count')).toBe(grew('db', 'ferry_db_write_batches_total'));
    expect(valueOf(after.db, 'ferry_db_calls', { status: 'DONE' })).toBeGreaterThanOrEqual(CALLS);

    const labelValues = [after.api, after.db, after.worker, await scrape(urls.registry)].flatMap((m) =>
      [...m.values()].flatMap((f) => f.samples.flatMap((s) => Object.entries(s.labels))),
    );
    for (const [name, value] of labelValues) {
      expect(name).not.toMatch(/call_?id/i);
      expect(ids.some((id) => value.includes(id)), `label ${name}="${value}"`).toBe(false);
    }
  });

  it('counts an ended call run again as requeued by request, and a held one as made', async () => {
    const before = await scrape(urls.api);
    const held = await http<{ id: string }>('POST', `${c.url}/v1/functions/${FN}/invoke?hold=true`, {});
    expect(held.status, held.text).toBe(202);
    expect((await http('POST', `${c.url}/v1/calls/${held.body.id}/cancel`)).status).toBe(200);
    expect((await http('POST', `${c.url}/v1/calls/${held.body.id}/retry`)).status).toBe(200);
    await waitUntil(async () => (await http<Call>('GET', `${c.url}/v1/calls/${held.body.id}`)).body.status === 'DONE', 'the retried call ends DONE');
    const after = await scrape(urls.api);
    const grew = (name: string, labels: Record<string, string>): number => valueOf(after, name, labels) - valueOf(before, name, labels);
    expect(grew('ferry_calls_created_total', { function: FN })).toBe(1);
    expect(grew('ferry_executions_requeued_total', { reason: 'request' })).toBe(1);
    expect(grew('ferry_calls_ended_total', { function: FN, status: 'CANCELLED' })).toBe(1);
    expect(grew('ferry_calls_ended_total', { function: FN, status: 'DONE' })).toBe(1);
  });

  it('counts refused inputs by code, and refused ZeroMQ handshakes', async () => {
    const before = await scrape(urls.api);
    expect((await http('GET', `${c.url}/v1/functions/pm-no-such-function`)).status).toBe(404);
    const after = await scrape(urls.api);
    expect(valueOf(after, 'ferry_refused_inputs_total', { code: 'NOT_FOUND' }) - valueOf(before, 'ferry_refused_inputs_total', { code: 'NOT_FOUND' })).toBe(1);

    const dbBefore = valueOf(await scrape(urls.db), 'ferry_zmq_handshakes_refused_total');
    const knock = stranger(c.db.endpoint, curveTo(c.db.endpoint)?.serverKey ?? null);
    expect(await knock.outcome).toBe('handshake:error:auth');
    const dbAfter = await scrape(urls.db);
    expect(valueOf(dbAfter, 'ferry_zmq_handshakes_refused_total')).toBeGreaterThan(dbBefore);
    expect(valueOf(dbAfter, 'ferry_refused_inputs_total', { code: 'NOT_ALLOWED' })).toBeGreaterThanOrEqual(1);
  });

  it("asks a key of the api's /metrics, and lets a reader's in", async () => {
    const none = await http<{ error: { code: string } }>('GET', urls.api, undefined, NO_KEY);
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('UNAUTHENTICATED');
    const reader = await http<{ key: string }>('POST', `${c.url}/v1/keys`, { role: 'reader', name: 'prometheus' });
    expect(reader.status, reader.text).toBe(201);
    const scraped = await http<string>('GET', urls.api, undefined, { authorization: `Bearer ${reader.body.key}` });
    expect(scraped.status).toBe(200);
    expect(parsePrometheusText(scraped.text).has('ferry_calls_ended_total')).toBe(true);
  });

  it('stops a daemon whose metrics port is taken, naming the variable to change', async () => {
    const { dir, cleanup } = await makeTempDir('ferry-pm-');
    onTestFinished(cleanup);
    const taken = new URL(urls.db).port;
    await expect(spawnDaemon('db', { FERRY_DATA_DIR: dir, FERRY_DB_BIND: 'tcp://127.0.0.1:*', FERRY_DB_METRICS_PORT: taken })).rejects.toThrow(/FERRY_DB_METRICS_PORT/);
  });

  it('answers 404 on a metrics port for anything but GET /metrics', async () => {
    const r = await http<{ error: { code: string } }>('GET', urls.db.replace(/\/metrics$/, '/other'));
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('NOT_FOUND');
  });
});

describe('metrics ports in the configuration', () => {
  it('defaults to fixed loopback ports beside the api, takes 0 for a free port and off for none', () => {
    const defaults = loadConfig({});
    expect([defaults.db.metrics, defaults.registry.metrics, defaults.worker.metrics]).toEqual([
      { host: '127.0.0.1', port: 3001, variable: 'FERRY_DB_METRICS_PORT' },
      { host: '127.0.0.1', port: 3002, variable: 'FERRY_REGISTRY_METRICS_PORT' },
      { host: '127.0.0.1', port: 3003, variable: 'FERRY_WORKER_METRICS_PORT' },
    ]);
    const set = loadConfig({ FERRY_METRICS_HOST: '0.0.0.0', FERRY_DB_METRICS_PORT: '0', FERRY_REGISTRY_METRICS_PORT: 'off', FERRY_WORKER_METRICS_PORT: '9100' });
    expect([set.db.metrics?.port, set.registry.metrics, set.worker.metrics]).toEqual([0, null, { host: '0.0.0.0', port: 9100, variable: 'FERRY_WORKER_METRICS_PORT' }]);
    for (const bad of ['on', '-1', '70000', '3.5']) {
      expect(() => loadConfig({ FERRY_WORKER_METRICS_PORT: bad }), bad).toThrow(ConfigError);
      expect(() => loadConfig({ FERRY_WORKER_METRICS_PORT: bad }), bad).toThrow(/FERRY_WORKER_METRICS_PORT/);
    }
  });
});
