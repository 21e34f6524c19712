import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ClassicLevel } from 'classic-level';
import { nanoid } from 'nanoid';
import { Calls } from '../../services/db/level/calls.js';
import { Groups } from '../../services/db/level/groups.js';
import { keys } from '../../services/db/level/keys.js';
import { Store } from '../../services/db/level/store.js';
import { createDbClient } from '../../shared/clients/db-client.js';
import type { DbParsedContent } from '../../shared/protocol/db-messages.js';
import { CallStatus } from '../../shared/protocol/domain.js';
import { makeBundle } from '../helpers/bundles.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { curveTo } from '../helpers/curve.js';
import { upload, withAuth } from '../helpers/http.js';
import { waitUntil } from '../helpers/temp.js';
import { throughput } from './contenders.js';
import { invoker, post } from './ferry-bench.js';
import { median, percentile, round } from './stats.js';
import { cpuMs } from '../helpers/processes.js';

type ListQuery = DbParsedContent['listCalls'];

const NODES = ['ns-node-a', 'ns-node-b', 'ns-node-c', 'ns-node-d'];
const GROUP = 'nsScaleGroup0001';
const RARE_FN = 'ns-fn-7';

/**
 * How the filled store's calls look: half of them one hot function, the rest spread over 19 others;
 * four nodes; 4 % ERROR, 0.5 % TIMEOUT, the rest DONE; 1 % in one of seven sessions, 2 % in one
 * batch; 1 % carry the text `needle` in their params.
 */
function callSpec(i: number): { create: DbParsedContent['createCall']; node: string; status: 'DONE' | 'ERROR' | 'TIMEOUT' } {
  const funcName = i % 2 === 0 ? 'ns-hot' : `ns-fn-${i % 19}`;
  const create: DbParsedContent['createCall'] = {
    id: nanoid(),
    funcName,
    version: 1,
    params: { n: i, user: `u${i % 997}`, tag: i % 100 === 50 ? 'needle' : 'hay' },
    ...(i % 100 === 0 ? { sessionId: `ns-session-${i % 7}` } : {}),
    ...(i % 50 === 1 ? { groupId: GROUP, groupIndex: Math.ceil(i / 50) } : {}),
  };
  const status = i % 25 === 0 ? 'ERROR' : i % 200 === 3 ? 'TIMEOUT' : 'DONE';
  return { create, node: NODES[i % NODES.length]!, status };
}

/**
 * Fills the store in `dir` with `n` ended calls through the DB's own call store (the code behind
 * its createCall and updateCall: the same records, indexes, group counts and statistics a real
 * call leaves), `inFlight` calls at a time. Each call is created PENDING, then ended by one
 * update carrying its execution on a node, as a worker's report of the end does. Returns seconds.
 */
export async function fillStore(dir: string, n: number, inFlight = 256): Promise<number> {
  const store = await Store.open(dir, { sync: false });
  const groups = new Groups(store);
  const calls = new Calls(store, groups);
  await groups.create({ id: GROUP, kind: 'batch', function: 'ns-hot', total: Math.ceil(n / 50) });
  const start = process.hrtime.bigint();
  let next = 0;
  const one = async (): Promise<void> => {
    while (next < n) {
      const i = (next += 1);
      const { create, node, status } = callSpec(i);
      const call = await calls.create(create);
      const startedAt = Date.now();
      await calls.update({
        id: call.id,
        expect: { status: CallStatus.PENDING, attempt: 1 },
        set: {
          status: status as CallStatus,
          result: status === 'DONE' ? JSON.stringify({ ok: true, n: i }) : '',
          error: status === 'DONE' ? null : { code: status === 'ERROR' ? 'FUNCTION_ERROR' : 'TIMEOUT', message: `call ${i} failed` },
          logs: { stdout: '', stderr: '', truncated: false },
          workerId: node,
          startedAt,
          finishedAt: startedAt + 1,
        },
        execution: { attempt: 1, nodeId: node, state: status, startedAt, finishedAt: startedAt + 1 },
      });
    }
  };
  await Promise.all(Array.from({ length: inFlight }, one));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  // Compaction settles before the size is read: a full manual compaction, as LevelDB would reach in time.
  await (store.db as unknown as ClassicLevel<string, unknown>).compactRange('', '~');
  await store.close();
  return seconds;
}

const diskBytes = (dir: string): number => Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);

/** The filters measured: what each asks, and a cursor far into its answers for the deep page. */
function filters(lastCallNum: number, window: { from: number; to: number; midNum: number }): { name: string; query: Omit<ListQuery, 'limit'>; deep: number }[] {
  const deep = Math.max(2, Math.round(lastCallNum * 0.1));
  return [
    { name: 'none', query: {}, deep },
    { name: 'function (hot, 50 %)', query: { funcName: 'ns-hot' }, deep },
    { name: 'function (rare, 2.6 %)', query: { funcName: RARE_FN }, deep },
    { name: 'status ERROR (4 %)', query: { status: CallStatus.ERROR }, deep },
    { name: 'node (25 %)', query: { nodeId: NODES[1] }, deep },
    { name: 'from/to (10 % window)', query: { from: window.from, to: window.to }, deep: window.midNum },
    { name: 'session (0.14 %)', query: { sessionId: 'ns-session-3' }, deep },
    { name: 'group (2 %)', query: { groupId: GROUP }, deep },
    { name: 'q text (1 %)', query: { q: 'needle' }, deep },
    { name: 'q text (no match)', query: { q: 'no-such-text' }, deep },
    { name: 'function + status', query: { funcName: 'ns-hot', status: CallStatus.ERROR }, deep },
    { name: 'function + node + from/to', query: { funcName: RARE_FN, nodeId: NODES[3], from: window.from, to: window.to }, deep: window.midNum },
  ];
}

export interface PageFigure {
  name: string;
  /** Median ms of the page in the DB's own code (Calls.list), first page and deep page. */
  dbFirstMs: number;
  dbDeepMs: number;
  /** CPU ms of the first page in the DB's own code (mean): what it costs with no other process in the way. */
  dbFirstCpuMs: number;
  /** Median ms of GET /v1/calls through the api, first page and deep page. */
  httpFirstMs: number;
  httpDeepMs: number;
  /** Calls the first page answered and read, and whether it was cut short by the scan bound. */
  calls: number;
  scanned: number;
  cutShort: boolean;
}

export interface StoreScaleFigures {
  calls: number;
  fillSeconds: number;
  diskBytesPerCall: number;
  pages: PageFigure[];
  /** The floor: 51 `n!` keys and their records read straight from LevelDB in-process, median ms. */
  floorPageMs: number;
  getCallDbP50Ms: number;
  getCallDbP99Ms: number;
  /** A bare LevelDB point read of a call record in-process, median ms (the floor of getCall). */
  getCallFloorMs: number;
  getCallRoundTripMs: number;
  pingRoundTripMs: number;
  /** Median ms of GET /healthz through the api: what HTTP and the api cost with no store read. */
  httpFloorMs: number;
  invokesPerSecEmpty: number;
  invokesPerSecFull: number;
  /** CPU ms per invoke of the db daemon (every thread, from /proc) over the timed rounds, each cluster. */
  dbCpuMsPerInvokeEmpty: number;
  dbCpuMsPerInvokeFull: number;
}

/** This process's CPU ms (all threads, LevelDB's included) per run of `fn`, the mean of `times`: steadier than wall time on a busy machine. */
async function cpuMsEach(times: number, fn: () => Promise<unknown>): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < times; i++) await fn();
  const used = process.cpuUsage(start);
  return round((used.user + used.system) / 1000 / times, 3);
}

async function medianMs(times: number, fn: () => Promise<unknown>): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < times; i++) {
    const t = process.hrtime.bigint();
    await fn();
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return round(median(ms), 3);
}

/** The creation-time window (10 % of the calls, in the middle) and a callNum inside it. */
async function middleWindow(calls: Calls, last: number): Promise<{ from: number; to: number; midNum: number }> {
  const at = async (num: number): Promise<number> => (await calls.get({ callNum: num })).createdAt;
  return { from: await at(Math.round(last * 0.45)), to: await at(Math.round(last * 0.55)), midNum: Math.round(last * 0.5) };
}

/** Pages, getCall and the floors, in the DB's own code on the filled store (nothing else runs). */
async function inProcessFigures(dir: string, samples: number) {
  const store = await Store.open(dir, { sync: false });
  const calls = new Calls(store, new Groups(store));
  try {
    const last = store.counters.lastCallNum;
    const window = await middleWindow(calls, last);
    const list = filters(last, window);
    // Untimed: a long-running daemon has its list code compiled by the JIT.
    for (let k = 0; k < 20; k++) for (const f of list) await calls.list({ ...f.query, limit: 50 });
    const pages: Omit<PageFigure, 'httpFirstMs' | 'httpDeepMs'>[] = [];
    for (const f of list) {
      const first = await calls.list({ ...f.query, limit: 50 });
      pages.push({
        name: f.name,
        dbFirstMs: await medianMs(samples, () => calls.list({ ...f.query, limit: 50 })),
        dbDeepMs: await medianMs(samples, () => calls.list({ ...f.query, limit: 50, cursor: String(f.deep) })),
        dbFirstCpuMs: await cpuMsEach(samples, () => calls.list({ ...f.query, limit: 50 })),
        calls: first.calls.length,
        scanned: first.scanned,
        cutShort: first.calls.length < 50 && first.nextCursor !== null,
      });
    }
    const floorPageMs = await medianMs(samples, async () => {
      const ids = await store.db.getMany(await store.keysUnder(keys.byNumPrefix, { reverse: true, limit: 51 }));
      await store.db.getMany(ids.map((id) => keys.call(String(id))));
    });
    // Ids far apart, each read once: none is in the call cache (the store was just opened).
    const ids: string[] = [];
    for (let k = 0; k < 2 * samples; k++) ids.push((await store.get<string>(keys.byNum(1 + Math.floor(((k + 0.5) / (2 * samples)) * (last - 1)))))!);
    const getMs: number[] = [];
    for (const id of ids.slice(0, samples)) {
      const t = process.hrtime.bigint();
      await calls.read({ id });
      getMs.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    const floorIds = ids.slice(samples);
    let k = 0;
    const getCallFloorMs = await medianMs(floorIds.length, async () => store.db.getSync(keys.call(floorIds[k++]!)));
    return { last, window, list, pages, floorPageMs, getCallDbP50Ms: round(percentile(getMs, 50), 3), getCallDbP99Ms: round(percentile(getMs, 99), 3), getCallFloorMs, ids };
  } finally {
    await store.close();
  }
}

const UNRUNNABLE = { name: 'ns-nowhere', image: 'ferry-test/never-built', path: '/ws', run: 'sh main.sh', protocol: 'exec' };

/** Registers a runtime whose image is never built and pushes `fn` on it: a function only the fake driver runs. */
export async function deployUnrunnable(cluster: Cluster, fn: string): Promise<void> {
  await post(`${cluster.url}/v1/runtimes`, UNRUNNABLE);
  const bundle = await makeBundle(cluster.dir, fn, { 'main.sh': 'cat\n' });
  await upload(`${cluster.url}/v1/functions/${fn}`, bundle.file, { runtime: UNRUNNABLE.name });
}

/** A cluster with one fake node (`nodeId`) and the function `ns-hot` deployed; `prepare` fills its data dir first. */
async function fakeCluster(nodeId: string, prepare?: (dataDir: string) => Promise<void>): Promise<Cluster> {
  const cluster = await startCluster({ logLevel: 'info', apiEnv: { FERRY_QUEUE_MAX: '50000' }, ...(prepare ? { prepare } : {}) });
  try {
    await cluster.startWorker(nodeId, { FERRY_DRIVER: 'fake', FERRY_MAX_CONTAINERS: '16', FERRY_FAKE_DELAY_MS: '0' });
    await deployUnrunnable(cluster, 'ns-hot');
    await waitUntil(async () => ((await (await fetch(`${cluster.url}/v1/nodes`, { headers: withAuth(cluster.url) })).json()) as { nodes: unknown[] }).nodes.length === 1, 'the fake node is up');
    return cluster;
  } catch (err) {
    await cluster.close();
    throw err;
  }
}

const getJson = async (url: string): Promise<void> => {
  const res = await fetch(url, { headers: withAuth(url) });
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
  await res.arrayBuffer();
};

const queryString = (q: Record<string, unknown>): string =>
  Object.entries(q)
    .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`)
    .join('&');

/**
 * The call store at scale: fills a store with `quick ? 100,000 : 1,000,000` calls, reads disk per
 * call, times every list filter (first and deep page) and getCall in the DB's own code, then
 * through a real cluster (api + db + one fake node) on that store, and compares invoke
 * throughput with an empty cluster's in alternating rounds.
 */
export async function storeScaleFigures(quick: boolean, say: (line: string) => void): Promise<StoreScaleFigures> {
  const n = quick ? 100_000 : 1_000_000;
  const samples = quick ? 20 : 50;
  let fillSeconds = 0;
  let diskBytesPerCall = 0;
  let inProc: Awaited<ReturnType<typeof inProcessFigures>> | undefined;
  say(`store at scale: filling ${n.toLocaleString('en')} calls through the call store`);
  const full = await fakeCluster('ns-full', async (dataDir) => {
    const dir = path.join(dataDir, 'db');
    fillSeconds = await fillStore(dir, n);
    diskBytesPerCall = diskBytes(dir) / n;
    say(`store at scale: filled in ${Math.round(fillSeconds)} s; pages and getCall in-process`);
    inProc = await inProcessFigures(dir, samples);
  });
  const empty = await fakeCluster('ns-empty');
  try {
    const r = inProc!;
    say('store at scale: pages through the api, getCall round trips');
    const pages: PageFigure[] = [];
    for (const [i, f] of r.list.entries()) {
      if (f.query.groupId !== undefined) {
        // /v1/calls has no group filter (a batch's calls are read under /v1/batches): the db figure alone.
        pages.push({ ...r.pages[i]!, httpFirstMs: Number.NaN, httpDeepMs: Number.NaN });
        continue;
      }
      const base = `${full.url}/v1/calls?limit=50&${queryString(f.query)}`;
      for (let k = 0; k < 20; k++) await getJson(base);
      pages.push({
        ...r.pages[i]!,
        httpFirstMs: await medianMs(samples, () => getJson(base)),
        httpDeepMs: await medianMs(samples, () => getJson(`${base}&cursor=${f.deep}`)),
      });
    }
    const httpFloorMs = await medianMs(samples, () => getJson(`${full.url}/healthz`));
    const db = createDbClient({ dbAddr: full.db.endpoint, requestTimeoutMs: 30_000, requestRetries: 0 }, curveTo(full.db.endpoint));
    let getCallRoundTripMs: number;
    let pingRoundTripMs: number;
    try {
      await db.call('ping', {});
      pingRoundTripMs = await medianMs(samples, () => db.call('ping', {}));
      let k = 0;
      getCallRoundTripMs = await medianMs(samples, () => db.call('getCall', { id: r.ids[k++]! }));
    } finally {
      await db.close();
    }

    say('store at scale: invokes/s (64 clients) on the empty and the full store, alternating');
    const onEmpty = invoker(new URL(empty.url), 'ns-hot', 'empty');
    const onFull = invoker(new URL(full.url), 'ns-hot', 'full');
    const total = quick ? 2_000 : 6_000;
    await throughput(onEmpty, 64, 1_000);
    await throughput(onFull, 64, 1_000);
    const rates = { empty: [] as number[], full: [] as number[] };
    const dbCpu = { empty: 0, full: 0 };
    const timed = async (c: Cluster, which: 'empty' | 'full', on: typeof onEmpty): Promise<void> => {
      const before = cpuMs(c.db.proc.pid!) / 1000;
      rates[which].push(await throughput(on, 64, total));
      dbCpu[which] += cpuMs(c.db.proc.pid!) / 1000 - before;
    };
    const rounds = quick ? 3 : 5;
    for (let round_ = 0; round_ < rounds; round_++) {
      await timed(empty, 'empty', onEmpty);
      await timed(full, 'full', onFull);
    }
    return {
      calls: n,
      fillSeconds: Math.round(fillSeconds),
      diskBytesPerCall: Math.round(diskBytesPerCall),
      pages,
      floorPageMs: r.floorPageMs,
      getCallDbP50Ms: r.getCallDbP50Ms,
      getCallDbP99Ms: r.getCallDbP99Ms,
      getCallFloorMs: r.getCallFloorMs,
      getCallRoundTripMs,
      pingRoundTripMs,
      httpFloorMs,
      invokesPerSecEmpty: Math.round(median(rates.empty)),
      invokesPerSecFull: Math.round(median(rates.full)),
      dbCpuMsPerInvokeEmpty: round((1000 * dbCpu.empty) / (rounds * total), 3),
      dbCpuMsPerInvokeFull: round((1000 * dbCpu.full) / (rounds * total), 3),
    };
  } finally {
    await empty.close();
    await full.close();
  }
}

const slug = (name: string): string =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '');

/** The figures as JSON numbers (snake_case keys). */
export function storeScaleJson(f: StoreScaleFigures): Record<string, number> {
  const out: Record<string, number> = {
    store_scale_calls: f.calls,
    store_scale_fill_s: f.fillSeconds,
    store_disk_bytes_per_call: f.diskBytesPerCall,
    store_page_floor_ms: f.floorPageMs,
    store_get_call_db_p50_ms: f.getCallDbP50Ms,
    store_get_call_db_p99_ms: f.getCallDbP99Ms,
    store_get_call_floor_ms: f.getCallFloorMs,
    store_get_call_round_trip_ms: f.getCallRoundTripMs,
    store_ping_round_trip_ms: f.pingRoundTripMs,
    store_http_floor_ms: f.httpFloorMs,
    store_invokes_per_s_empty: f.invokesPerSecEmpty,
    store_invokes_per_s_full: f.invokesPerSecFull,
    store_db_cpu_ms_per_invoke_empty: f.dbCpuMsPerInvokeEmpty,
    store_db_cpu_ms_per_invoke_full: f.dbCpuMsPerInvokeFull,
  };
  for (const p of f.pages) {
    const k = slug(p.name);
    out[`store_page_${k}_db_first_ms`] = p.dbFirstMs;
    out[`store_page_${k}_db_deep_ms`] = p.dbDeepMs;
    out[`store_page_${k}_db_first_cpu_ms`] = p.dbFirstCpuMs;
    if (!Number.isNaN(p.httpFirstMs)) {
      out[`store_page_${k}_http_first_ms`] = p.httpFirstMs;
      out[`store_page_${k}_http_deep_ms`] = p.httpDeepMs;
    }
    out[`store_page_${k}_scanned`] = p.scanned;
  }
  return out;
}

/** Table rows: what, figure, target, anchor. */
export function storeScaleRows(f: StoreScaleFigures): [string, string, string, string][] {
  const stored = `${f.calls.toLocaleString('en')} calls stored`;
  const rows: [string, string, string, string][] = [
    [`fill: ${stored} through the call store`, `${f.fillSeconds} s`, '', ''],
    ['disk per stored call (du after compaction)', `${f.diskBytesPerCall} B`, 'reported', ''],
  ];
  for (const p of f.pages) {
    const note = p.cutShort ? ` (cut short: ${p.calls} calls, ${p.scanned} entries read)` : '';
    rows.push([`page of 50, ${p.name}${note}: first / deep page ms at the db (first page CPU ms)`, `${p.dbFirstMs} / ${p.dbDeepMs} (${p.dbFirstCpuMs})`, '≤ 10 ms', `LevelDB floor ${f.floorPageMs} ms`]);
    if (!Number.isNaN(p.httpFirstMs)) {
      rows.push([`  the same through GET /v1/calls`, `${p.httpFirstMs} / ${p.httpDeepMs}`, '', `GET /healthz ${f.httpFloorMs} ms`]);
    }
  }
  rows.push(
    ['getCall at the db (uncached call), p50 / p99 ms', `${f.getCallDbP50Ms} / ${f.getCallDbP99Ms}`, '≤ 1 ms', `LevelDB get ${f.getCallFloorMs} ms`],
    ['getCall round trip over ZeroMQ, ms', `${f.getCallRoundTripMs}`, '', `ping round trip ${f.pingRoundTripMs} ms`],
    [
      `invokes/s, 64 clients, fake node: ${stored} / empty store`,
      `${f.invokesPerSecFull} / ${f.invokesPerSecEmpty} (${round((100 * f.invokesPerSecFull) / f.invokesPerSecEmpty, 1)} %)`,
      '≥ 90 %',
      `empty store ${f.invokesPerSecEmpty}/s`,
    ],
    [`db CPU ms per invoke: ${stored} / empty store`, `${f.dbCpuMsPerInvokeFull} / ${f.dbCpuMsPerInvokeEmpty}`, '', ''],
  );
  return rows;
}
