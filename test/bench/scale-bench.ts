import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CallView } from '../../shared/protocol/call-view.js';
import { allowKey } from '../../shared/security/allowlist-file.js';
import { loadOrCreateKeyPair } from '../../shared/security/curve-keys.js';
import { curveDirOf } from '../../shared/security/key-files.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { curveOn } from '../helpers/curve.js';
import { spawnDaemon, type DaemonProcess } from '../helpers/daemon.js';
import { FakeNode } from '../helpers/fake-node.js';
import { tokenFor, withAuth } from '../helpers/http.js';
import { cpuMs, machineBusyMs, mainThreadCpuMs, rssMiB, treesCpuMs, treeOf } from '../helpers/processes.js';
import { parsePrometheusText } from '../helpers/prometheus.js';
import { waitUntil } from '../helpers/temp.js';
import { dbWrites } from './cpu-bench.js';
import { apiProfile, type ApiProfile } from './cpu-profile.js';
import { percentile, round } from './stats.js';
import { post } from './ferry-bench.js';
import { deployUnrunnable } from './store-scale-bench.js';
import type { Row } from './table.js';
import { haveWrk, wrk, WRK_HELP, wrkScript } from './wrk.js';

/** Worker nodes the cluster is measured with, grown in this order; `--quick` stops at 8. */
const NODE_COUNTS = [1, 8, 16, 32, 64];
const QUICK_NODE_COUNTS = [1, 8];
/**
 * How long each call "runs" on its node (FERRY_FAKE_DELAY_MS): a node's four containers end 40
 * calls/s. Well past the api's FERRY_CALL_WRITE_HOLD_MS (25), so every call is the same two
 * writes at any load (created with its start, then its end), as most real calls are.
 */
const FAKE_DELAY_MS = 100;
const CONTAINERS = 4;
/**
 * Clients (wrk connections) at each node count: as many calls as 64 nodes run at once, more
 * than the machine turns over in the fake delay.
 */
const CLIENTS = 256;
/** Calls each simulated node has room for (1 container, 1 ahead) while the queue's cost is measured: nearly all of a backlog waits in the api. */
const BACKLOG_ROOM = 2;
/** Every this-many-th request of a client is an async invoke, the others sync: the async calls' records give the dispatch latency. */
const ASYNC_EVERY = 10;
/** Offered concurrency of the saturation sweep. */
const SWEEP = [64, 128, 256, 384, 512, 1024];
const QUICK_SWEEP = [64, 256];
/**
 * Containers each simulated node of the sweep says it has: 64 such nodes hold 2,048 calls (one
 * ahead per container), more than the sweep offers, so the api never queues for want of a node.
 */
const SIM_CONTAINERS = 16;
const FN = 'scale-fn';

/** One timed load: calls/s of the cluster, latencies, and where the CPU went. */
export interface ScaleStep {
  clients: number;
  /** Calls ended per second, by the api's own counter (sync and async). */
  callsPerSec: number;
  /** The async calls' dispatch latency (their first execution's `createdAt` − the call's `createdAt`, ms). */
  dispatchP50Ms: number;
  dispatchP99Ms: number;
  /** Call records the db wrote per call. */
  dbWritesPerCall: number;
  /** CPU of the api process (every thread) and of its main thread (the event loop), % of one core. */
  apiCpuPct: number;
  apiLoopCpuPct: number;
  apiCpuMsPerCall: number;
  dbCpuPct: number;
  dbLoopCpuPct: number;
  /** Every worker daemon and its miniworkers, % of one core. */
  nodesCpuPct: number;
  /** wrk, the load generator. */
  loadCpuPct: number;
  /** The whole machine (2 cores: 200 %), the load generator and other work included. */
  machineCpuPct: number;
}

interface ScaleCluster {
  cluster: Cluster;
  workers: DaemonProcess[];
  /** Starts worker nodes until there are `n`, and waits until the api counts them all. */
  grow(n: number): Promise<void>;
  /** Stops every worker node (SIGTERM, as a host's shutdown does). */
  stopWorkers(): Promise<void>;
  close(): Promise<void>;
}

/** A worker's own data folder, as on a host of its own. */
const nodeDir = (dir: string, nodeId: string): string => path.join(dir, 'nodes', nodeId);
const nodeIds = (n: number): string[] => Array.from({ length: n }, (_, i) => `scl-${i + 1}`);

async function get<T>(url: string): Promise<T> {
  const res = await fetch(url, { headers: withAuth(url) });
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
  return (await res.json()) as T;
}

/** Waits until the api counts `n` nodes. */
async function nodesUp(url: string, n: number): Promise<void> {
  await waitUntil(async () => (await get<{ nodes: unknown[] }>(`${url}/v1/nodes`)).nodes.length === n, `the api counts ${n} nodes`, 60_000);
}

/**
 * db, registry and api as processes, and up to `maxNodes` worker daemons with the fake driver,
 * each with its own data folder and key (made and allowed on the api's host beforehand, as
 * `ferry node allow` does), reaching the api and registry by the keys in its environment.
 */
async function startScaleCluster(maxNodes: number): Promise<ScaleCluster> {
  const curve = curveOn({});
  const cluster = await startCluster({
    logLevel: 'info',
    apiEnv: { FERRY_QUEUE_MAX: '50000' },
    prepare: async (dir) => {
      if (!curve) return;
      for (const id of nodeIds(maxNodes)) {
        const { keys } = await loadOrCreateKeyPair(curveDirOf(nodeDir(dir, id)), `worker-${id}`);
        await allowKey(curveDirOf(dir), keys.publicKey, id);
      }
    },
  });
  const workers: DaemonProcess[] = [];
  const stopWorkers = async (): Promise<void> => {
    await Promise.all(workers.map((w) => w.kill()));
  };
  const close = async (): Promise<void> => {
    await stopWorkers();
    await cluster.close();
  };
  try {
    await deployUnrunnable(cluster, FN);
    const keys: Record<string, string> = curve ? { FERRY_API_PUBLIC_KEY: cluster.api.publicKey!, FERRY_REGISTRY_PUBLIC_KEY: cluster.registry.publicKey! } : {};
    const startWorker = async (id: string): Promise<void> => {
      await mkdir(nodeDir(cluster.dir, id), { recursive: true });
      const w = await spawnDaemon(
        'worker',
        {
          FERRY_DATA_DIR: nodeDir(cluster.dir, id),
          FERRY_NODE_ID: id,
          FERRY_LOG_LEVEL: 'info',
          FERRY_WORKERS_ADDR: cluster.env['FERRY_WORKERS_ADDR']!,
          FERRY_REGISTRY_ADDR: cluster.env['FERRY_REGISTRY_ADDR']!,
          ...keys,
          FERRY_DRIVER: 'fake',
          FERRY_FAKE_DELAY_MS: String(FAKE_DELAY_MS),
          FERRY_MAX_CONTAINERS: String(CONTAINERS),
        },
        60_000,
      );
      workers.push(w);
    };
    const grow = async (n: number): Promise<void> => {
      const ids = nodeIds(n).slice(workers.length);
      // Eight at a time: 64 node processes starting at once would starve the api of the CPU it answers hellos with.
      for (let i = 0; i < ids.length; i += 8) await Promise.all(ids.slice(i, i + 8).map(startWorker));
      await nodesUp(cluster.url, n);
    };
    return { cluster, workers, grow, stopWorkers, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The sum of the samples of the api's metric `name`. */
async function apiMetric(url: string, name: string): Promise<number> {
  const res = await fetch(`${url}/metrics`, { headers: withAuth(url) });
  const family = parsePrometheusText(await res.text()).get(name);
  return (family?.samples ?? []).reduce((n, s) => n + s.value, 0);
}

/** Calls the api has seen end. */
const endedCalls = (url: string): Promise<number> => apiMetric(url, 'ferry_calls_ended_total');

/** Waits until the api holds no call (queued or running): what one load left behind is not counted in the next. */
async function drained(url: string): Promise<void> {
  await waitUntil(async () => (await apiMetric(url, 'ferry_queue_calls')) + (await apiMetric(url, 'ferry_running_calls')) === 0, 'the api holds no call', 60_000);
}

/**
 * Each call of `session`'s dispatch latency from the store: its first execution's `createdAt`
 * (the api's clock when it sent it to a node) − the call's `createdAt` (the db's, when it stored
 * it), once they have all ended. Async calls only: a sync call is dispatched before
 * its create is written (see Scheduler.invoke), so its record holds no such interval.
 */
async function dispatchLatencies(url: string, session: string): Promise<number[]> {
  let calls: CallView[] = [];
  await waitUntil(
    async () => {
      calls = [];
      let cursor: string | null = null;
      do {
        const page: { calls: CallView[]; nextCursor: string | null } = await get(`${url}/v1/calls?sessionId=${session}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
        calls.push(...page.calls);
        cursor = page.nextCursor;
      } while (cursor);
      return calls.every((c) => c.status === 'DONE');
    },
    `the async calls of ${session} have ended DONE`,
    60_000,
  );
  return calls.map((c) => c.currentExecution!.createdAt - c.createdAt);
}

/** CPU ms so far: api (whole and its main thread), db, the nodes (by `nodesCpuMs`), the machine. */
function cpuNow(s: ScaleCluster, nodesCpuMs: () => number): { api: number; apiLoop: number; db: number; dbLoop: number; nodes: number; machine: Promise<number> } {
  const apiPid = s.cluster.api.proc.pid!;
  const dbPid = s.cluster.db.proc.pid!;
  return {
    api: cpuMs(apiPid),
    apiLoop: mainThreadCpuMs(apiPid),
    db: cpuMs(dbPid),
    dbLoop: mainThreadCpuMs(dbPid),
    nodes: nodesCpuMs(),
    machine: machineBusyMs(),
  };
}

/** Every worker daemon of the cluster and its miniworkers. */
const workersCpuMs = (s: ScaleCluster) => (): number => treesCpuMs(s.workers.map((w) => w.proc.pid!));

/** This process: the simulated nodes. */
const benchCpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** wrk's script for `session`: sync invokes, every ASYNC_EVERY-th one async in `session`. */
async function mixedScript(c: Cluster, session: string): Promise<string> {
  const file = path.join(c.dir, `${session}.lua`);
  await writeFile(file, wrkScript(tokenFor(c.url), { every: ASYNC_EVERY, path: `/v1/functions/${FN}/invoke?sessionId=${session}` }));
  return file;
}

/** wrk's `clients` connections for `seconds` (sync invokes, every ASYNC_EVERY-th async in `session`); wrk's figures. */
async function load(c: Cluster, clients: number, seconds: number, session: string): Promise<Awaited<ReturnType<typeof wrk>>> {
  const r = await wrk(`${c.url}/v1/functions/${FN}/invoke?wait=true`, await mixedScript(c, session), clients, seconds);
  if (r.errors > r.requests / 100) throw new Error(`${r.errors} of ${r.requests} invokes failed under wrk`);
  return r;
}

/** One timed load of `clients` and where the CPU went. */
async function loadStep(s: ScaleCluster, clients: number, seconds: number, label: string, nodesCpuMs: () => number): Promise<ScaleStep> {
  const c = s.cluster;
  const session = `scale-${label}-${clients}`;
  await drained(c.url);
  const [endedBefore, writesBefore] = [await endedCalls(c.url), await dbWrites(c.db.metricsUrl)];
  const before = cpuNow(s, nodesCpuMs);
  const machineBefore = await before.machine;
  const t0 = process.hrtime.bigint();
  const r = await load(c, clients, seconds, session);
  const elapsedMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const after = cpuNow(s, nodesCpuMs);
  const machineAfter = await after.machine;
  const [ended, writes] = [(await endedCalls(c.url)) - endedBefore, (await dbWrites(c.db.metricsUrl)).callWrites - writesBefore.callWrites];
  const dispatch = await dispatchLatencies(c.url, session);
  const pct = (ms: number): number => round((100 * ms) / elapsedMs, 1);
  return {
    clients,
    callsPerSec: Math.round((1000 * ended) / elapsedMs),
    dispatchP50Ms: percentile(dispatch, 50),
    dispatchP99Ms: percentile(dispatch, 99),
    dbWritesPerCall: round(writes / ended),
    apiCpuPct: pct(after.api - before.api),
    apiLoopCpuPct: pct(after.apiLoop - before.apiLoop),
    apiCpuMsPerCall: round((after.api - before.api) / ended, 3),
    dbCpuPct: pct(after.db - before.db),
    dbLoopCpuPct: pct(after.dbLoop - before.dbLoop),
    nodesCpuPct: pct(after.nodes - before.nodes),
    loadCpuPct: pct(r.cpuMs),
    machineCpuPct: pct(machineAfter - machineBefore),
  };
}

/** CPU of the api and of all nodes, % of one core, over `seconds` with no calls: what heartbeats and timers cost. */
async function idleCpuPct(s: ScaleCluster, seconds: number): Promise<{ api: number; nodes: number }> {
  const pid = s.cluster.api.proc.pid!;
  const nodes = workersCpuMs(s);
  const [api0, nodes0, t0] = [cpuMs(pid), nodes(), Date.now()];
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const pct = (ms: number): number => round((100 * ms) / (Date.now() - t0), 1);
  return { api: pct(cpuMs(pid) - api0), nodes: pct(nodes() - nodes0) };
}

/**
 * What a deep queue costs the api: `calls` async calls made at once (runs of up to 10,000) while
 * the simulated nodes hold every call they get, so all but the nodes' room wait in the api's
 * queue; then the nodes end their calls again and the queue drains. Calls/s and the api's CPU per
 * call of the drain (the nodes have room for few, so nearly every call is dispatched in it).
 */
async function drain(s: ScaleCluster, sims: FakeNode[], calls: number): Promise<{ callsPerSec: number; apiCpuMsPerCall: number }> {
  const url = s.cluster.url;
  await drained(url);
  for (const sim of sims) sim.autoFinish(null);
  for (let made = 0; made < calls; made += 10_000) {
    const r = await post(`${url}/v1/functions/${FN}/runs`, { times: Math.min(10_000, calls - made) });
    if (r.status !== 201) throw new Error(`a run answered ${r.status}: ${JSON.stringify(r.json)}`);
  }
  const held = async (): Promise<number> => (await apiMetric(url, 'ferry_queue_calls')) + (await apiMetric(url, 'ferry_running_calls'));
  await waitUntil(async () => (await held()) === calls, `the api holds all ${calls} calls`, 60_000);
  const pid = s.cluster.api.proc.pid!;
  const [api0, ended0, t0] = [cpuMs(pid), await endedCalls(url), process.hrtime.bigint()];
  for (const sim of sims) sim.autoFinish(FAKE_DELAY_MS);
  await drained(url);
  const elapsedMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const ended = (await endedCalls(url)) - ended0;
  return { callsPerSec: Math.round((1000 * ended) / elapsedMs), apiCpuMsPerCall: round((cpuMs(pid) - api0) / ended, 3) };
}

/**
 * The api started again under `node --cpu-prof` (same ports, same store; `sims` join it again),
 * `seconds` of `clients` sync clients once it is warm, then stopped so it writes its profile:
 * where its time went within that load alone.
 */
async function profileApi(s: ScaleCluster, sims: FakeNode[], clients: number, seconds: number): Promise<ApiProfile> {
  const c = s.cluster;
  const profDir = path.join(c.dir, 'api-profile');
  await c.api.kill();
  c.api = await spawnDaemon('api', {
    ...c.env,
    FERRY_HTTP_PORT: new URL(c.url).port,
    FERRY_WORKERS_BIND: c.env['FERRY_WORKERS_ADDR']!,
    FERRY_QUEUE_MAX: '50000',
    FERRY_NODE_ARGS: `--cpu-prof --cpu-prof-dir=${profDir}`,
  });
  for (const sim of sims) sim.join(SIM_CONTAINERS);
  await nodesUp(c.url, sims.length);
  await load(c, clients, 2, 'profile-warm');
  await drained(c.url);
  const fromUs = Number(process.hrtime.bigint() / 1000n);
  await load(c, clients, seconds, 'profile');
  const toUs = Number(process.hrtime.bigint() / 1000n);
  await c.api.kill();
  const [file] = await readdir(profDir);
  if (!file) throw new Error(`the api wrote no profile in ${profDir}`);
  return apiProfile(path.join(profDir, file), { fromUs, toUs });
}

export interface ScaleFigures {
  [key: string]: number;
}

/**
 * How far one api goes. First the same sync load (CLIENTS wrk connections) and an async probe
 * against 1, 8, 16, 32 and 64 fake-driver nodes, each its own worker process. Then the
 * saturation point: the worker processes give way to as many nodes simulated in this process
 * over the real protocol (a worker daemon and its miniworker spend more CPU per call than the
 * api, so on a machine they share they, not the api, would set the limit), each ending every
 * call after the same fake delay, with room for more calls than offered; offered concurrency
 * is raised until calls/s stops growing. Last, a CPU profile of the api at that point.
 */
export async function scaleFigures(quick: boolean, say: (line: string) => void): Promise<ScaleFigures> {
  if (!(await haveWrk())) throw new Error(WRK_HELP);
  const counts = quick ? QUICK_NODE_COUNTS : NODE_COUNTS;
  const seconds = quick ? 2 : 5;
  const maxNodes = counts.at(-1)!;
  const s = await startScaleCluster(maxNodes);
  const sims: FakeNode[] = [];
  const out: ScaleFigures = {};
  try {
    for (const n of counts) {
      say(`scale: ${n} fake node(s), ${CLIENTS} clients, every ${ASYNC_EVERY}th call async`);
      await s.grow(n);
      // Untimed: the function's bundle fetched by every new node, the paths hot.
      await load(s.cluster, CLIENTS, 2, `warm-n${n}`);
      await drained(s.cluster.url);
      const idle = await idleCpuPct(s, quick ? 1 : 4);
      out[`scale_api_idle_cpu_pct_${n}`] = idle.api;
      out[`scale_nodes_idle_cpu_pct_${n}`] = idle.nodes;
      Object.assign(out, stepJson(await loadStep(s, CLIENTS, seconds, `n${n}`, workersCpuMs(s)), `_${n}`));
    }
    out['scale_node_rss_mib'] = round(s.workers.reduce((mib, w) => mib + treeOf(w.proc.pid!).reduce((m, pid) => m + rssMiB(pid), 0), 0) / s.workers.length, 1);
    out['scale_api_rss_mib'] = round(rssMiB(s.cluster.api.proc.pid!), 1);

    const sweep = quick ? QUICK_SWEEP : SWEEP;
    say(`scale: saturation, ${maxNodes} simulated nodes, offered concurrency ${sweep.join(', ')}`);
    await s.stopWorkers();
    await nodesUp(s.cluster.url, 0);
    for (let i = 1; i <= maxNodes; i++) {
      const sim = new FakeNode(`scl-sim-${i}`, s.cluster.env['FERRY_WORKERS_ADDR']!);
      sims.push(sim);
      sim.autoFinish(FAKE_DELAY_MS);
      sim.join(SIM_CONTAINERS);
    }
    await nodesUp(s.cluster.url, maxNodes);
    await load(s.cluster, sweep.at(-1)!, 2, 'warm-sweep');
    let best: ScaleStep | undefined;
    for (const clients of sweep) {
      const step = await loadStep(s, clients, seconds, 'sweep', benchCpuMs);
      Object.assign(out, stepJson(step, `_sweep_${clients}`));
      // Saturated: the most clients that still raised calls/s by 5 % over every fewer.
      if (best === undefined || step.callsPerSec > best.callsPerSec * 1.05) best = step;
    }
    out['scale_saturation_calls_per_s'] = best!.callsPerSec;
    out['scale_saturation_clients'] = best!.clients;
    out['scale_saturation_api_cpu_pct'] = best!.apiCpuPct;
    out['scale_saturation_api_loop_cpu_pct'] = best!.apiLoopCpuPct;
    out['scale_saturation_db_loop_cpu_pct'] = best!.dbLoopCpuPct;
    out['scale_saturation_machine_cpu_pct'] = best!.machineCpuPct;

    const [deep, shallow] = quick ? [1_000, 100] : [10_000, 1_000];
    say(`scale: ${deep} calls drained from the api's queue at once, against ${shallow}, nodes with room for ${BACKLOG_ROOM * maxNodes}`);
    for (const sim of sims) sim.join(BACKLOG_ROOM / 2);
    const deepDrain = await drain(s, sims, deep);
    const shallowDrain = await drain(s, sims, shallow);
    for (const sim of sims) sim.join(SIM_CONTAINERS);
    out['scale_backlog_calls'] = deep;
    out['scale_backlog_calls_per_s'] = deepDrain.callsPerSec;
    out['scale_backlog_api_cpu_ms_per_call'] = deepDrain.apiCpuMsPerCall;
    out['scale_no_backlog_calls'] = shallow;
    out['scale_no_backlog_calls_per_s'] = shallowDrain.callsPerSec;
    out['scale_no_backlog_api_cpu_ms_per_call'] = shallowDrain.apiCpuMsPerCall;

    say(`scale: a CPU profile of the api, ${maxNodes} simulated nodes, ${best!.clients} clients`);
    const profile = await profileApi(s, sims, best!.clients, seconds);
    const share = (part: string): number => round((100 * (profile.parts.find(([p]) => p.startsWith(part))?.[1] ?? 0)) / profile.busyMs, 1);
    out['scale_profile_scheduler_pct'] = share('scheduler');
    out['scale_profile_place_pct'] = round((100 * profile.placeMs) / profile.busyMs, 1);
    out['scale_profile_worker_link_pct'] = share('worker link');
    out['scale_profile_call_lifecycle_pct'] = share('call lifecycle');
    out['scale_profile_http_pct'] = share('HTTP');
    out['scale_profile_gc_pct'] = share('garbage');
    out['scale_profile_outside_api_code_pct'] = round(share('Node and libraries') + share('native'), 1);
    for (const [part, ms] of profile.parts) say(`scale: api profile: ${part} ${round((100 * ms) / profile.busyMs, 1)} %`);
    for (const [fn, ms] of profile.topSelf) say(`scale: api profile, self time: ${round((100 * ms) / profile.busyMs, 1)} % ${fn}`);
    return out;
  } finally {
    for (const sim of sims) sim.close();
    await s.close();
  }
}

/** Each figure of a {@link ScaleStep} by the name its JSON key starts with (after `scale_`). */
const STEP_KEYS: [keyof ScaleStep, string][] = [
  ['callsPerSec', 'calls_per_s'],
  ['dispatchP50Ms', 'dispatch_p50_ms'],
  ['dispatchP99Ms', 'dispatch_p99_ms'],
  ['dbWritesPerCall', 'db_writes_per_call'],
  ['apiCpuPct', 'api_cpu_pct'],
  ['apiLoopCpuPct', 'api_loop_cpu_pct'],
  ['apiCpuMsPerCall', 'api_cpu_ms_per_call'],
  ['dbCpuPct', 'db_cpu_pct'],
  ['dbLoopCpuPct', 'db_loop_cpu_pct'],
  ['nodesCpuPct', 'nodes_cpu_pct'],
  ['loadCpuPct', 'load_cpu_pct'],
  ['machineCpuPct', 'machine_cpu_pct'],
];

function stepJson(step: ScaleStep, suffix: string): Record<string, number> {
  return Object.fromEntries(STEP_KEYS.map(([field, name]) => [`scale_${name}${suffix}`, step[field]]));
}

export function scaleRows(f: ScaleFigures): Row[] {
  const counts = Object.keys(f)
    .map((k) => /^scale_calls_per_s_(\d+)$/.exec(k)?.[1])
    .filter((n): n is string => n !== undefined);
  const sweep = Object.keys(f)
    .map((k) => /^scale_calls_per_s_sweep_(\d+)$/.exec(k)?.[1])
    .filter((n): n is string => n !== undefined);
  const line = (sfx: string, nodes: string): string =>
    `${f[`scale_calls_per_s${sfx}`]}/s; dispatch ${f[`scale_dispatch_p50_ms${sfx}`]} / ${f[`scale_dispatch_p99_ms${sfx}`]} ms; api ${f[`scale_api_cpu_pct${sfx}`]} % (loop ${f[`scale_api_loop_cpu_pct${sfx}`]} %, ${f[`scale_api_cpu_ms_per_call${sfx}`]} ms/call), db ${f[`scale_db_cpu_pct${sfx}`]} % (loop ${f[`scale_db_loop_cpu_pct${sfx}`]} %, ${f[`scale_db_writes_per_call${sfx}`]} writes/call), ${nodes} ${f[`scale_nodes_cpu_pct${sfx}`]} %, wrk ${f[`scale_load_cpu_pct${sfx}`]} %, machine ${f[`scale_machine_cpu_pct${sfx}`]} %`;
  const most = counts.at(-1);
  return [
    ...counts.map((n): Row => [`${n} fake node process(es), ${CLIENTS} clients (1 call in ${ASYNC_EVERY} async): calls/s; async dispatch p50 / p99; CPU % of a core`, line(`_${n}`, 'nodes'), '', `idle: api ${f[`scale_api_idle_cpu_pct_${n}`]} %, nodes ${f[`scale_nodes_idle_cpu_pct_${n}`]} %`]),
    ...sweep.map((c): Row => [`  ${most} simulated nodes, ${c} clients`, line(`_sweep_${c}`, 'simulated nodes'), '', '']),
    [
      'calls/s stop growing at: calls/s (clients; api CPU %, event loops of api / db %, machine %)',
      `${f['scale_saturation_calls_per_s']} (${f['scale_saturation_clients']}; ${f['scale_saturation_api_cpu_pct']} %, ${f['scale_saturation_api_loop_cpu_pct']} / ${f['scale_saturation_db_loop_cpu_pct']} %, ${f['scale_saturation_machine_cpu_pct']} %)`,
      'measured',
      '',
    ],
    [
      `api CPU profile at the saturation point: scheduler (place) / worker link / call lifecycle / HTTP / GC, % of its busy time`,
      `${f['scale_profile_scheduler_pct']} (${f['scale_profile_place_pct']}) / ${f['scale_profile_worker_link_pct']} / ${f['scale_profile_call_lifecycle_pct']} / ${f['scale_profile_http_pct']} / ${f['scale_profile_gc_pct']}; outside api code ${f['scale_profile_outside_api_code_pct']}`,
      '',
      '',
    ],
    [
      `${most} simulated nodes: ${f['scale_backlog_calls']} async calls drained from the api's queue: calls/s, api CPU ms per call`,
      `${f['scale_backlog_calls_per_s']}/s, ${f['scale_backlog_api_cpu_ms_per_call']} ms`,
      '≤ 1.1 × no backlog',
      `${f['scale_no_backlog_calls']} at once: ${f['scale_no_backlog_calls_per_s']}/s, ${f['scale_no_backlog_api_cpu_ms_per_call']} ms`,
    ],
    [`node RSS MiB (worker + miniworker, mean of ${most}); api RSS MiB`, `${f['scale_node_rss_mib']}; ${f['scale_api_rss_mib']}`, '', ''],
  ];
}
