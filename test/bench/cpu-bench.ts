import { execFile, spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { tokenFor } from '../helpers/http.js';
import { bullmqContender } from './bullmq-contender.js';
import { latencies, summarize, type Contender } from './contenders.js';
import { startFerryBench, type FerryBench } from './ferry-bench.js';
import { startRedis } from './redis-server.js';
import { median, round } from './stats.js';
import { cpuMs, machineBusyMs, treeOf } from '../helpers/processes.js';
import { haveWrk, wrk, WRK_HELP, wrkScript } from './wrk.js';

const run = promisify(execFile);
const CLIENTS = 64;

/** CPU ms by what spent it: Ferry's processes by name, the load generator, the whole machine. */
interface CpuSample {
  byName: Map<string, number>;
  /** CPU ms of each container's cgroup, by its accounting file. */
  agents: Map<string, number>;
  machineBusyMs: number;
}

/** Which processes (and container cgroups) are Ferry's, by the name they show under. */
interface Watched {
  /** Named roots: each one's whole process tree counts under its name (`miniworkers` apart). */
  roots: { name: string; pid: number }[];
  /** cpuacct / cpu.stat files of the node's containers: the agents. */
  cgroups: { file: string; unit: 'ns' | 'usec' }[];
}

/** The CPU accounting file of each running container of `nodeId` (cgroup v1 cpuacct or v2 cpu.stat). */
async function containerCgroups(nodeId: string): Promise<Watched['cgroups']> {
  const { stdout } = await run('docker', ['ps', '-q', '--filter', `label=ferry.node=${nodeId}`]);
  const ids = stdout.split('\n').filter(Boolean);
  if (ids.length === 0) return [];
  const pids = (await run('docker', ['inspect', '-f', '{{.State.Pid}}', ...ids])).stdout.split('\n').filter(Boolean).map(Number);
  const out: Watched['cgroups'] = [];
  for (const pid of pids) {
    const lines = (await readFile(`/proc/${pid}/cgroup`, 'utf8').catch(() => '')).split('\n');
    const v1 = lines.map((l) => l.split(':')).find(([, c]) => c?.split(',').includes('cpuacct'));
    const v2 = lines.map((l) => l.split(':')).find(([, c]) => c === '');
    if (v1?.[2]) out.push({ file: `/sys/fs/cgroup/cpuacct${v1[2]}/cpuacct.usage`, unit: 'ns' });
    else if (v2?.[2]) out.push({ file: `/sys/fs/cgroup${v2[2]}/cpu.stat`, unit: 'usec' });
  }
  return out;
}

async function cgroupCpuMs(c: Watched['cgroups'][number]): Promise<number> {
  const text = await readFile(c.file, 'utf8').catch(() => '');
  if (c.unit === 'ns') return Number(text.trim() || 0) / 1e6;
  return Number(/usage_usec (\d+)/.exec(text)?.[1] ?? 0) / 1e3;
}

/** CPU ms spent so far by each watched name; the worker's descendants are its miniworkers. */
async function sample(w: Watched): Promise<CpuSample> {
  const byName = new Map<string, number>();
  const add = (name: string, ms: number): void => void byName.set(name, (byName.get(name) ?? 0) + ms);
  for (const { name, pid } of w.roots) {
    const [root, ...below] = treeOf(pid);
    add(name, cpuMs(root!));
    for (const d of below) add(name === 'worker' ? 'miniworkers' : name, cpuMs(d));
  }
  const agents = new Map<string, number>();
  for (const c of w.cgroups) agents.set(c.file, await cgroupCpuMs(c));
  return { byName, agents, machineBusyMs: await machineBusyMs() };
}

function spent(before: CpuSample, after: CpuSample): CpuSample {
  const byName = new Map<string, number>();
  for (const [name, ms] of after.byName) byName.set(name, ms - (before.byName.get(name) ?? 0));
  // A container removed meanwhile took its count with it (its file reads 0): only those alive at both ends count.
  let agents = 0;
  for (const [file, ms] of after.agents) if (ms > 0 && ms >= (before.agents.get(file) ?? Infinity)) agents += ms - before.agents.get(file)!;
  byName.set('agents', agents);
  return { byName, agents: new Map(), machineBusyMs: after.machineBusyMs - before.machineBusyMs };
}

/** What one timed run gave: units done, their rate, latencies, and the CPU each part spent per unit. */
interface RunFigures {
  units: number;
  perSec: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU ms per unit by process name; `total` sums the measured side's own. */
  cpuPerUnitMs: Record<string, number>;
  loadGenPerUnitMs: number;
  machinePerUnitMs: number;
  /** Ferry only: call records the db wrote, and LevelDB batches and ops, per call. */
  dbCallWritesPerUnit?: number;
  dbBatchesPerUnit?: number;
  dbOpsPerUnit?: number;
}

function perUnit(cpu: CpuSample, units: number): { cpuPerUnitMs: Record<string, number>; machinePerUnitMs: number } {
  const cpuPerUnitMs: Record<string, number> = {};
  let total = 0;
  for (const [name, ms] of cpu.byName) {
    cpuPerUnitMs[name] = round(ms / units, 3);
    total += ms;
  }
  cpuPerUnitMs['total'] = round(total / units, 3);
  return { cpuPerUnitMs, machinePerUnitMs: round(cpu.machineBusyMs / units, 3) };
}

/** The db's counts of call records written and of LevelDB batches and ops, from its /metrics. */
export async function dbWrites(metricsUrl: string | null): Promise<{ callWrites: number; batches: number; ops: number }> {
  if (metricsUrl === null) return { callWrites: NaN, batches: NaN, ops: NaN };
  const text = await (await fetch(metricsUrl)).text();
  const sum = (name: string): number =>
    text
      .split('\n')
      .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
      .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  return { callWrites: sum('ferry_db_call_writes_total'), batches: sum('ferry_db_write_batches_total'), ops: sum('ferry_db_write_ops_total') };
}

async function ferryRun(b: FerryBench, w: Watched, script: string, connections: number, seconds: number): Promise<RunFigures> {
  const db = b.cluster.db.metricsUrl;
  const [before, writesBefore] = [await sample(w), await dbWrites(db)];
  const r = await wrk(`${b.cluster.url}/v1/functions/noop-py/invoke?wait=true`, script, connections, seconds);
  const [after, writesAfter] = [await sample(w), await dbWrites(db)];
  if (r.errors > r.requests / 100) throw new Error(`${r.errors} of ${r.requests} invokes failed under wrk`);
  const per = (n: number): number => round(n / r.requests, 3);
  return {
    units: r.requests,
    perSec: r.perSec,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    loadGenPerUnitMs: per(r.cpuMs),
    ...perUnit(spent(before, after), r.requests),
    dbCallWritesPerUnit: per(writesAfter.callWrites - writesBefore.callWrites),
    dbBatchesPerUnit: per(writesAfter.batches - writesBefore.batches),
    dbOpsPerUnit: per(writesAfter.ops - writesBefore.ops),
  };
}

/** BullMQ jobs with `clients` in flight for `seconds`; the load generator is this process (the producers). */
async function bullmqRun(c: Contender, w: Watched, clients: number, seconds: number): Promise<RunFigures> {
  const fns = await Promise.all(Array.from({ length: clients }, () => c.client()));
  const before = await sample(w);
  const self = process.cpuUsage();
  const start = process.hrtime.bigint();
  const deadline = Date.now() + seconds * 1000;
  let units = 0;
  await Promise.all(
    fns.map(async (one) => {
      while (Date.now() < deadline) {
        await one();
        units += 1;
      }
    }),
  );
  const elapsedS = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(self);
  const after = await sample(w);
  return { units, perSec: Math.round(units / elapsedS), p50Ms: NaN, p99Ms: NaN, loadGenPerUnitMs: round((used.user + used.system) / 1000 / units, 3), ...perUnit(spent(before, after), units) };
}

export interface CpuFigures {
  [key: string]: number;
}

/** The median of each figure over the runs. */
function medianOf(runs: RunFigures[]): RunFigures {
  const names = new Set(runs.flatMap((r) => Object.keys(r.cpuPerUnitMs)));
  const m = (pick: (r: RunFigures) => number): number => median(runs.map(pick));
  return {
    units: runs.reduce((n, r) => n + r.units, 0),
    perSec: m((r) => r.perSec),
    p50Ms: m((r) => r.p50Ms),
    p99Ms: m((r) => r.p99Ms),
    loadGenPerUnitMs: m((r) => r.loadGenPerUnitMs),
    machinePerUnitMs: m((r) => r.machinePerUnitMs),
    dbCallWritesPerUnit: m((r) => r.dbCallWritesPerUnit ?? NaN),
    dbBatchesPerUnit: m((r) => r.dbBatchesPerUnit ?? NaN),
    dbOpsPerUnit: m((r) => r.dbOpsPerUnit ?? NaN),
    cpuPerUnitMs: Object.fromEntries([...names].map((n) => [n, m((r) => r.cpuPerUnitMs[n] ?? 0)])),
  };
}

/**
 * CPU per warm call, summed over every Ferry process (api, db, registry, worker, its miniworkers,
 * and the agents in their containers by cgroup), with `CLIENTS` sync invokes in flight from wrk
 * (python no-op agent, CurveZMQ and auth on), against BullMQ's CPU per job (redis-server and a
 * worker process; the producers are its load generator) in the same run, runs alternating; then
 * one client's latencies of each.
 */
export async function cpuFigures(quick: boolean): Promise<CpuFigures> {
  if (!(await haveWrk())) throw new Error(WRK_HELP);
  const seconds = quick ? 4 : 10;
  const rounds = quick ? 1 : 3;
  const ferry = await startFerryBench();
  const redis = await startRedis();
  const bull = await bullmqContender(redis.port, { workerProcess: true });
  try {
    const script = path.join(ferry.cluster.dir, 'invoke.lua');
    await writeFile(script, wrkScript(tokenFor(ferry.cluster.url)));
    const c = ferry.cluster;
    const ferryWatched = async (): Promise<Watched> => ({
      roots: [
        { name: 'api', pid: c.api.proc.pid! },
        { name: 'db', pid: c.db.proc.pid! },
        { name: 'registry', pid: c.registry.proc.pid! },
        { name: 'worker', pid: c.workers.get('bench-node')!.proc.pid! },
      ],
      cgroups: await containerCgroups('bench-node'),
    });
    const bullWatched: Watched = { roots: [{ name: 'redis-server', pid: redis.pid }, { name: 'bullmq-worker', pid: bull.workerPid }], cgroups: [] };
    // Untimed: the code paths hot, a warm container for each client slot, then the node quiet.
    await wrk(`${c.url}/v1/functions/noop-py/invoke?wait=true`, script, CLIENTS, quick ? 2 : 5);
    await bullmqRun(bull.contender, bullWatched, CLIENTS, 2);
    await ferry.python.settle?.();
    const watched = await ferryWatched();
    const ferryRuns: RunFigures[] = [];
    const bullRuns: RunFigures[] = [];
    for (let r = 0; r < rounds; r++) {
      ferryRuns.push(await ferryRun(ferry, watched, script, CLIENTS, seconds));
      bullRuns.push(await bullmqRun(bull.contender, bullWatched, CLIENTS, seconds));
    }
    const lat1 = [];
    const bullLat: number[] = [];
    for (let r = 0; r < rounds; r++) {
      lat1.push(await ferryRun(ferry, watched, script, 1, quick ? 3 : 5));
      await latencies(bull.contender, quick ? 500 : 1_500, bullLat);
    }
    const f = medianOf(ferryRuns);
    const q = medianOf(bullRuns);
    const one = medianOf(lat1);
    const bullOne = summarize(bullLat);
    const out: CpuFigures = {
      cpu_per_call_ms: f.cpuPerUnitMs['total']!,
      ...Object.fromEntries(Object.entries(f.cpuPerUnitMs).filter(([n]) => n !== 'total').map(([n, ms]) => [`cpu_per_call_${n}_ms`, ms])),
      cpu_per_call_load_generator_ms: f.loadGenPerUnitMs,
      cpu_per_call_machine_ms: f.machinePerUnitMs,
      cpu_db_call_writes_per_call: f.dbCallWritesPerUnit!,
      cpu_db_batches_per_call: f.dbBatchesPerUnit!,
      cpu_db_ops_per_call: f.dbOpsPerUnit!,
      cpu_db_call_writes_per_call_1_client: one.dbCallWritesPerUnit!,
      cpu_calls_per_s: f.perSec,
      cpu_calls_p50_ms_64: f.p50Ms,
      cpu_calls_p99_ms_64: f.p99Ms,
      cpu_call_p50_ms: one.p50Ms,
      cpu_call_p99_ms: one.p99Ms,
      cpu_per_call_1_client_ms: one.cpuPerUnitMs['total']!,
      cpu_bullmq_per_job_ms: q.cpuPerUnitMs['total']!,
      cpu_bullmq_per_job_redis_ms: q.cpuPerUnitMs['redis-server'] ?? NaN,
      cpu_bullmq_per_job_worker_ms: q.cpuPerUnitMs['bullmq-worker'] ?? NaN,
      cpu_bullmq_per_job_load_generator_ms: q.loadGenPerUnitMs,
      cpu_bullmq_jobs_per_s: q.perSec,
      cpu_bullmq_p50_ms: bullOne.p50Ms,
      cpu_bullmq_p99_ms: bullOne.p99Ms,
      cpu_ratio_per_s_ferry_over_bullmq: round(f.perSec / q.perSec),
      cpu_calls_measured: f.units,
    };
    return out;
  } finally {
    await bull.close();
    await redis.stop();
    await ferry.close();
  }
}

const PARTS = ['api', 'db', 'registry', 'worker', 'miniworkers', 'agents'];

/** Table rows of {@link cpuFigures}: what, figure, target, anchor (BullMQ's figure). */
export function cpuRows(f: CpuFigures): [string, string, string, string][] {
  const parts = PARTS.map((p) => `${p} ${f[`cpu_per_call_${p}_ms`] ?? 0}`).join(', ');
  return [
    [`CPU ms per warm call, all Ferry processes (${CLIENTS} clients, wrk)`, `${f['cpu_per_call_ms']}`, '≤ 0.5', `BullMQ ${f['cpu_bullmq_per_job_ms']} per job (redis ${f['cpu_bullmq_per_job_redis_ms']}, worker ${f['cpu_bullmq_per_job_worker_ms']})`],
    ['  by process, ms per call', parts, '', ''],
    ['  load generator ms per call (wrk; not counted)', `${f['cpu_per_call_load_generator_ms']}`, '', `BullMQ producers ${f['cpu_bullmq_per_job_load_generator_ms']} per job`],
    ['  whole machine busy ms per call (other work included)', `${f['cpu_per_call_machine_ms']}`, '', ''],
    [`warm calls/s (${CLIENTS} clients)`, `${f['cpu_calls_per_s']}`, `≥ 1.2 × BullMQ (${round(1.2 * f['cpu_bullmq_jobs_per_s']!, 0)})`, `BullMQ ${f['cpu_bullmq_jobs_per_s']} jobs/s (${f['cpu_ratio_per_s_ferry_over_bullmq']}×)`],
    [`warm call p50 / p99 ms at ${CLIENTS} clients`, `${f['cpu_calls_p50_ms_64']} / ${f['cpu_calls_p99_ms_64']}`, '', ''],
    ['warm call p50 / p99 ms, 1 client', `${f['cpu_call_p50_ms']} / ${f['cpu_call_p99_ms']}`, `p50 ≤ BullMQ, p99 ≤ 5`, `BullMQ ${f['cpu_bullmq_p50_ms']} / ${f['cpu_bullmq_p99_ms']}`],
    ['CPU ms per warm call, 1 client', `${f['cpu_per_call_1_client_ms']}`, '', ''],
    [
      `call records written per call, ${CLIENTS} clients / 1 client (LevelDB batches, ops per call)`,
      `${f['cpu_db_call_writes_per_call']} / ${f['cpu_db_call_writes_per_call_1_client']} (${f['cpu_db_batches_per_call']}, ${f['cpu_db_ops_per_call']})`,
      '1',
      '',
    ],
  ];
}
