import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { nanoCpusFor } from '../../services/worker/drivers/cpu-share.js';
import { functionImage } from '../../services/worker/drivers/docker-driver.js';
import { makeBundle } from '../helpers/bundles.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { example } from '../helpers/fixtures.js';
import { http, upload } from '../helpers/http.js';
import { waitUntil } from '../helpers/temp.js';
import { median, round, timeMs } from './stats.js';
import { containerCpuMs } from '../helpers/processes.js';

const run = promisify(execFile);
/** The runtime as the README's curl example registers it. */
const RUNTIME = { image: 'pythonruntime', path: '/ws', dependencies: 'pip3 install -r requirements.txt', run: 'python3 test.py' };
const PARAMS = { roll: '4d6' };
/** A runtime whose `run` reads its params and does nothing else. */
const NOOP_RUNTIME = { name: 'noop-exec', image: 'pythonruntime', path: '/ws', dependencies: 'true', run: 'cat >/dev/null', protocol: 'exec' };
const CONTAINERS = 4;
/** The function's memory (the default: the README's push names none) and the default CPU share per MiB. */
const MEMORY_MB = 256;
const MB_PER_CPU = 1024;
const NODE_ID = 'nx-bench';
const CLOCK_TICKS = 100;
const ENGINE = new Set(['dockerd', 'containerd', 'containerd-shim']);

/** CPU ms so far of Ferry's processes (by daemon, miniworkers apart), of the node's containers (their cgroups) and of the engine. */
interface CpuSample {
  api: number;
  db: number;
  registry: number;
  worker: number;
  miniworkers: number;
  containers: number;
  engine: number;
}

async function cpuSample(c: Cluster, docker: Docker): Promise<CpuSample> {
  const stats = new Map<number, { ppid: number; comm: string; ms: number }>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const close = stat.lastIndexOf(')');
    if (close < 0) continue;
    const fields = stat.slice(close + 2).split(' ');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    stats.set(Number(name), { ppid: Number(fields[1]), comm, ms: ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS });
  }
  const ms = (pid: number | undefined): number => stats.get(pid ?? -1)?.ms ?? 0;
  const workerPid = c.workers.get(NODE_ID)?.proc.pid;
  let miniworkers = 0;
  let engine = 0;
  for (const s of stats.values()) {
    if (s.ppid === workerPid) miniworkers += s.ms;
    else if (ENGINE.has(s.comm)) engine += s.ms;
  }
  let containers = 0;
  for (const info of await docker.listContainers({ filters: { label: [`ferry.node=${NODE_ID}`] } })) {
    containers += await containerCpuMs((await docker.getContainer(info.Id).inspect()).State.Pid);
  }
  return { api: ms(c.api.proc.pid), db: ms(c.db.proc.pid), registry: ms(c.registry.proc.pid), worker: ms(workerPid), miniworkers, containers, engine };
}

export interface ExecFigures {
  exec_calls_per_s: number;
  /** The same with `cat >/dev/null` as the run: the path's own cost. */
  exec_noop_calls_per_s: number;
  exec_calls: number;
  exec_warm_p50_ms: number;
  exec_floor_p50_ms: number;
  exec_warm_over_floor: number;
  /** CPU ms of one `python3 test.py` in the floor's container (its cgroup, the loop's shell included). */
  exec_floor_cpu_ms_per_run: number;
  /** CPU ms per call during the run: Ferry's processes, the containers (the function itself), the engine. */
  exec_cpu_ms_per_call_api: number;
  exec_cpu_ms_per_call_db: number;
  exec_cpu_ms_per_call_worker: number;
  exec_cpu_ms_per_call_miniworkers: number;
  exec_cpu_ms_per_call_containers: number;
  exec_cpu_ms_per_call_engine: number;
}

/**
 * The seed's dice as an `exec` function (`python3 test.py` per call) on one node with four warm
 * containers: async calls per second through a run of `calls` calls, and a warm sync call's
 * latency against its floor, a loop starting `python3 test.py` inside an already-running
 * container of the same image and limits, measured round by round beside it. Its CPU per call
 * says where the time goes: Ferry, the function in its containers, or the engine.
 */
export async function execFigures(quick: boolean): Promise<ExecFigures> {
  const calls = quick ? 100 : 300;
  const rounds = quick ? 3 : 8;
  const perRound = quick ? 10 : 25;
  const docker = new Docker();
  const c = await startCluster({ logLevel: 'info', workers: [NODE_ID], workerEnv: { FERRY_MAX_CONTAINERS: String(CONTAINERS), FERRY_PRELOAD: 'function' } });
  let floorContainer = '';
  try {
    const rt = await http('POST', `${c.url}/registerRuntime`, RUNTIME);
    if (rt.status !== 201) throw new Error(`registerRuntime answered ${rt.status}`);
    const bundle = await makeBundle(c.dir, 'dice', await example('python/dice'));
    const pushed = await upload(`${c.url}/registerFunction/pythonruntime/dice`, bundle.file);
    if (pushed.status !== 201) throw new Error(`push answered ${pushed.status}`);
    const invoke = async (fn = 'dice'): Promise<void> => {
      const r = await http<{ status: string; result: string }>('POST', `${c.url}/v1/functions/${fn}/invoke?wait=true`, PARAMS);
      if (r.status !== 200 || r.body.status !== 'DONE') throw new Error(`${fn} call failed: ${r.status} ${JSON.stringify(r.body)}`);
    };
    /** Calls/s of a run of `calls` calls of `fn` once its containers are warm, with the CPU it took. */
    const throughput = async (fn: string): Promise<{ perSec: number; cpuBefore: CpuSample; cpuAfter: CpuSample }> => {
      await invoke(fn); // its image baked
      await Promise.all(Array.from({ length: CONTAINERS * 2 }, () => invoke(fn)));
      const cpuBefore = await cpuSample(c, docker);
      const started = Date.now();
      const made = await http<{ id: string }>('POST', `${c.url}/v1/functions/${fn}/runs`, { times: calls, params: PARAMS });
      if (made.status !== 201) throw new Error(`run answered ${made.status}`);
      // The run's own end time makes the figure: polled seldom, so the polls cost next to nothing.
      let view = { status: 'QUEUED', end: 0 };
      for (let polls = 0; view.status === 'QUEUED' || view.status === 'RUNNING'; polls++) {
        if (polls > 1200) throw new Error(`the run of ${calls} ${fn} calls did not end in 10 minutes`);
        await delay(500);
        view = (await http<{ status: string; end: number }>('GET', `${c.url}/v1/runs/${made.body.id}`)).body;
      }
      if (view.status !== 'COMPLETE') throw new Error(`the run of ${fn} calls ended ${view.status}`);
      return { perSec: calls / ((view.end - started) / 1000), cpuBefore, cpuAfter: await cpuSample(c, docker) };
    };

    const dice = await throughput('dice');
    const perCall = (k: keyof CpuSample): number => round((dice.cpuAfter[k] - dice.cpuBefore[k]) / calls, 2);
    // The same path with a command that costs next to nothing: what a call costs beside its command.
    const noopRt = await http('POST', `${c.url}/v1/runtimes`, NOOP_RUNTIME);
    if (noopRt.status !== 201) throw new Error(`POST /v1/runtimes answered ${noopRt.status}`);
    const noopPushed = await upload(`${c.url}/v1/functions/noop?runtime=${NOOP_RUNTIME.name}`, bundle.file);
    if (noopPushed.status !== 201) throw new Error(`noop push answered ${noopPushed.status}`);
    const noop = await throughput('noop');

    const image = functionImage(RUNTIME, bundle.sha256);
    // Confined as the function's own containers are: its memory, the CPU share that follows it.
    const cpus = String(nanoCpusFor(MEMORY_MB, MB_PER_CPU) / 1e9);
    const limits = ['--memory', `${MEMORY_MB}m`, '--cpus', cpus, '--read-only', '--tmpfs', '/tmp', '--network', 'none', '--user', '65534:65534'];
    floorContainer = (await run('docker', ['run', '-d', ...limits, '-w', RUNTIME.path, image, 'sleep', 'infinity'])).stdout.trim();
    const loop = `s=$(date +%s%N); i=0; while [ $i -lt ${perRound} ]; do echo '${JSON.stringify(PARAMS)}' | ${RUNTIME.run} >/dev/null; i=$((i+1)); done; echo $(( ($(date +%s%N) - s) / ${perRound} ))`;
    const floorPid = (await docker.getContainer(floorContainer).inspect()).State.Pid;
    const warm: number[] = [];
    const floor: number[] = [];
    let floorCpuMs = 0;
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < perRound; i++) warm.push(await timeMs(invoke));
      const cpuBefore = await containerCpuMs(floorPid);
      floor.push(Number((await run('docker', ['exec', floorContainer, 'sh', '-c', loop])).stdout.trim()) / 1e6);
      floorCpuMs += (await containerCpuMs(floorPid)) - cpuBefore;
    }
    return {
      exec_calls_per_s: round(dice.perSec, 1),
      exec_noop_calls_per_s: round(noop.perSec, 1),
      exec_calls: calls,
      exec_warm_p50_ms: round(median(warm), 1),
      exec_floor_p50_ms: round(median(floor), 1),
      exec_warm_over_floor: round(median(warm) / median(floor)),
      exec_floor_cpu_ms_per_run: round(floorCpuMs / (rounds * perRound), 2),
      exec_cpu_ms_per_call_api: perCall('api'),
      exec_cpu_ms_per_call_db: perCall('db'),
      exec_cpu_ms_per_call_worker: perCall('worker'),
      exec_cpu_ms_per_call_miniworkers: perCall('miniworkers'),
      exec_cpu_ms_per_call_containers: perCall('containers'),
      exec_cpu_ms_per_call_engine: perCall('engine'),
    };
  } finally {
    if (floorContainer) await run('docker', ['rm', '-f', floorContainer]).catch(() => undefined);
    await c.close();
  }
}

/** Rows: what, figure, target, anchor. */
export function execRows(f: ExecFigures): [string, string, string, string][] {
  return [
    [`exec calls/s, dice (python3 test.py), ${f.exec_calls} async calls, ${CONTAINERS} warm containers`, `${f.exec_calls_per_s}`, '≥ 60', 'one docker exec per call: ~6'],
    [`exec calls/s, cat >/dev/null as the run, ${f.exec_calls} async calls, ${CONTAINERS} warm containers`, `${f.exec_noop_calls_per_s}`, '', 'the path without python'],
    [
      'warm exec sync call p50 ms / floor / ratio',
      `${f.exec_warm_p50_ms} / ${f.exec_floor_p50_ms} / ${f.exec_warm_over_floor}`,
      '≤ 1.5',
      `python3 test.py in a running container: ${f.exec_floor_p50_ms} ms`,
    ],
    [
      'CPU ms per call in the function\'s containers / per run in the floor\'s',
      `${f.exec_cpu_ms_per_call_containers} / ${f.exec_floor_cpu_ms_per_run}`,
      '',
      'the run itself: python3 test.py',
    ],
    [
      'exec CPU ms per call: api / db / worker / miniworkers / containers / engine',
      [
        f.exec_cpu_ms_per_call_api,
        f.exec_cpu_ms_per_call_db,
        f.exec_cpu_ms_per_call_worker,
        f.exec_cpu_ms_per_call_miniworkers,
        f.exec_cpu_ms_per_call_containers,
        f.exec_cpu_ms_per_call_engine,
      ].join(' / '),
      '',
      'engine: dockerd, containerd and every shim on the machine',
    ],
  ];
}
