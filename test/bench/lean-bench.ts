import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { Label } from '../../services/worker/drivers/docker-driver.js';
import { cpuMs, miniworkersOf, rssMiB, treeOf } from '../helpers/processes.js';
import type { Received } from '../helpers/fake-api.js';
import { startWorkerCluster, type WorkerCluster } from '../helpers/worker-cluster.js';
import { round } from './stats.js';

const exec = promisify(execFile);

/** Warm containers the node's memory is read at, with FERRY_MAX_CONTAINERS at the last. */
const LEVELS = [4, 16, 64] as const;
const MAX_CONTAINERS = LEVELS[LEVELS.length - 1]!;
/** Ferry's own memory per warm container at {@link MAX_CONTAINERS}. */
export const TARGET_MIB_PER_CONTAINER = 16;
/** Small enough that 64 python agent containers fit the machine beside everything else. */
const CALL_MEMORY_MB = 64;

type Level = (typeof LEVELS)[number];

/** One node's memory and CPU with its containers warm, as /proc and the engine's cgroups see them. */
export interface NodeFigures {
  /** Worker daemon + miniworkers, summed RSS, MiB, at each level of warm containers. */
  rssMiB: Record<Level, number>;
  miniworkers: Record<Level, number>;
  /** The python agents inside the containers (their processes' RSS), MiB, at each level. */
  agentsRssMiB: Record<Level, number>;
  /** The containers' cgroup memory (page cache included), MiB, at each level. */
  containersMiB: Record<Level, number>;
  /** Worker daemon + miniworkers CPU per warm call, ms, 64 clients on 64 warm containers. */
  nodeCpuMsPerCall: number;
  /** The worker daemon's part of it. */
  workerCpuMsPerCall: number;
  /** The agents' CPU per warm call, ms, in the same run. */
  agentsCpuMsPerCall: number;
}

export interface LeanFigures {
  node_rss_mib_4: number;
  node_rss_mib_16: number;
  node_rss_mib_64: number;
  node_mib_per_container_4: number;
  node_mib_per_container_16: number;
  node_mib_per_container_64: number;
  miniworkers_64: number;
  agents_rss_mib_64: number;
  containers_mib_64: number;
  node_cpu_ms_per_call: number;
  worker_cpu_ms_per_call: number;
  miniworkers_cpu_ms_per_call: number;
  agents_cpu_ms_per_call: number;
  /** The same node with one miniworker per container (FERRY_SANDBOXES_PER_MINIWORKER=1), side by side. */
  one_per_container_rss_mib_64: number;
  one_per_container_mib_per_container_64: number;
  one_per_container_cpu_ms_per_call: number;
}

const NOOP_AGENT = (i: number): string => `# function ${i}\ndef main(params, ctx=None):\n    return params\n`;

/**
 * A node (docker driver, python agent runtime, preload `function`, FERRY_MAX_CONTAINERS=64) made
 * to hold 4, then 16, then 64 warm containers, one function each; its memory is read at each
 * level, then `calls` warm calls from 64 clients (one per container) measure its CPU per call.
 */
export async function measureNode(env: Record<string, string>, calls: number): Promise<NodeFigures> {
  const c = await startWorkerCluster({
    FERRY_DRIVER: 'docker',
    FERRY_PRELOAD: 'function',
    FERRY_MAX_CONTAINERS: String(MAX_CONTAINERS),
    FERRY_NODE_MEMORY_MB: String(MAX_CONTAINERS * CALL_MEMORY_MB),
    FERRY_LOG_LEVEL: 'info',
    ...env,
  }, 120_000);
  try {
    const workerPid = c.worker.proc.pid!;
    const fns: { name: string; sha256: string; size: number }[] = [];
    const figures: Omit<NodeFigures, 'nodeCpuMsPerCall' | 'workerCpuMsPerCall' | 'agentsCpuMsPerCall'> = { rssMiB: {} as never, miniworkers: {} as never, agentsRssMiB: {} as never, containersMiB: {} as never };
    let seq = 0;
    let warm = 0;
    let resent = 0;
    const call = async (i: number): Promise<void> => {
      const fn = fns[i]!;
      const callId = `lean-${++seq}`;
      const runtime = { name: 'py', image: 'pythonruntime', path: '/ws', dependencies: '', run: 'main.py', protocol: 'agent' as const };
      const dispatch = c.call({ callId, function: fn.name, sha256: fn.sha256, size: fn.size, runtime, memoryMb: CALL_MEMORY_MB, params: i });
      // A dispatch sent while the worker's link is down is lost (the real api sends it again on the
      // node's hello; the fake one does not): a call with no end for a while is sent again, which
      // the node ignores while it still holds the call.
      let m: Received | undefined;
      for (let sent = 0; !m && sent < 24; sent++) {
        if (sent > 0) resent += 1;
        c.api.dispatch(c.nodeId, dispatch);
        m = await c.api.finished(callId, 1, 5_000).catch(() => undefined);
      }
      if (!m) throw new Error(`lean bench call ${callId} never ended`);
      if (m.msgType !== 'finished' || m.content.outcome.status !== 'DONE') throw new Error(`lean bench call failed: ${JSON.stringify(m.content)}`);
    };
    for (const level of LEVELS) {
      while (fns.length < level) {
        const name = `lean-${fns.length}`;
        fns.push({ name, ...(await c.push(name, { 'main.py': NOOP_AGENT(fns.length) })) });
      }
      // Each function's first call starts its container; a few at a time, as a node under load would.
      for (let at = warm; at < level; at += 8) await Promise.all([...fns.keys()].slice(at, Math.min(level, at + 8)).map(call));
      warm = level;
      const containers = await nodeContainers(c);
      if (containers.length !== level) throw new Error(`lean bench: ${containers.length} containers warm, ${level} expected`);
      // Memory settles once every call's buffers are collected: read it after a quiet second.
      await new Promise((r) => setTimeout(r, 1_000));
      const mws = miniworkersOf(workerPid);
      figures.rssMiB[level] = round(sum(treeOf(workerPid).map(rssMiB)), 1);
      figures.miniworkers[level] = mws.length;
      figures.agentsRssMiB[level] = round(sum((await agentPids(containers)).map(rssMiB)), 1);
      figures.containersMiB[level] = round(sum(await Promise.all(containers.map(cgroupMiB))), 1);
    }
    const containers = await nodeContainers(c);
    const nodeCpu = (): number => sum(treeOf(workerPid).map((pid) => cpuMs(pid)));
    const agents = await agentPids(containers);
    const agentCpu = (): number => sum(agents.map((pid) => cpuMs(pid)));
    const [node0, worker0, agents0] = [nodeCpu(), cpuMs(workerPid), agentCpu()];
    let left = calls;
    await Promise.all(
      fns.map(async (_, i) => {
        while (left > 0) {
          left -= 1;
          await call(i);
        }
      }),
    );
    if (resent > 0) process.stderr.write(`[bench] lean: ${resent} dispatch(es) sent again (a link drop, or a start slower than 5 s)\n`);
    return {
      ...figures,
      nodeCpuMsPerCall: round((nodeCpu() - node0) / calls, 3),
      workerCpuMsPerCall: round((cpuMs(workerPid) - worker0) / calls, 3),
      agentsCpuMsPerCall: round((agentCpu() - agents0) / calls, 3),
    };
  } finally {
    await c.close();
  }
}

/** The node's figures at 4/16/64 warm containers, and a node with one miniworker per container beside it. */
export async function leanFigures(quick: boolean): Promise<LeanFigures> {
  const calls = quick ? 1_000 : 5_000;
  const lean = await measureNode({}, calls);
  const onePer = await measureNode({ FERRY_SANDBOXES_PER_MINIWORKER: '1' }, calls);
  const perContainer = (f: NodeFigures, level: Level): number => round(f.rssMiB[level] / level, 1);
  return {
    node_rss_mib_4: lean.rssMiB[4],
    node_rss_mib_16: lean.rssMiB[16],
    node_rss_mib_64: lean.rssMiB[64],
    node_mib_per_container_4: perContainer(lean, 4),
    node_mib_per_container_16: perContainer(lean, 16),
    node_mib_per_container_64: perContainer(lean, 64),
    miniworkers_64: lean.miniworkers[64],
    agents_rss_mib_64: lean.agentsRssMiB[64],
    containers_mib_64: lean.containersMiB[64],
    node_cpu_ms_per_call: lean.nodeCpuMsPerCall,
    worker_cpu_ms_per_call: lean.workerCpuMsPerCall,
    miniworkers_cpu_ms_per_call: round(lean.nodeCpuMsPerCall - lean.workerCpuMsPerCall, 3),
    agents_cpu_ms_per_call: lean.agentsCpuMsPerCall,
    one_per_container_rss_mib_64: onePer.rssMiB[64],
    one_per_container_mib_per_container_64: perContainer(onePer, 64),
    one_per_container_cpu_ms_per_call: onePer.nodeCpuMsPerCall,
  };
}

/** Table rows `[what, figure, target, anchor]` of {@link leanFigures}. */
export function leanRows(f: LeanFigures): [string, string, string, string][] {
  const anchor = `one miniworker per container ${f.one_per_container_mib_per_container_64} MiB`;
  return [
    ['node RSS MiB (worker + miniworkers) at 4 / 16 / 64 warm containers', `${f.node_rss_mib_4} / ${f.node_rss_mib_16} / ${f.node_rss_mib_64}`, '', `one per container, at 64: ${f.one_per_container_rss_mib_64}`],
    ['node MiB per warm container at 4 / 16 / 64', `${f.node_mib_per_container_4} / ${f.node_mib_per_container_16} / ${f.node_mib_per_container_64}`, `≤ ${TARGET_MIB_PER_CONTAINER} at 64`, anchor],
    ['miniworker processes at 64 warm containers', `${f.miniworkers_64}`, '', 'one per container: 64'],
    ['agents RSS / containers cgroup MiB at 64 (not Ferry\'s own)', `${f.agents_rss_mib_64} / ${f.containers_mib_64}`, '', ''],
    ['node CPU ms per warm call (worker + miniworkers, 64 clients)', `${f.node_cpu_ms_per_call}`, 'not above one per container', `one per container ${f.one_per_container_cpu_ms_per_call}`],
    ['of which worker daemon / miniworkers', `${f.worker_cpu_ms_per_call} / ${f.miniworkers_cpu_ms_per_call}`, '', ''],
    ['agents CPU ms per warm call', `${f.agents_cpu_ms_per_call}`, '', ''],
  ];
}

/** Ids of the node's containers. */
async function nodeContainers(c: WorkerCluster): Promise<string[]> {
  const { stdout } = await exec('docker', ['ps', '-q', '--no-trunc', '--filter', `label=${Label.node}=${c.nodeId}`, '--filter', `label=${Label.owner}`]);
  return stdout.split('\n').filter(Boolean);
}

/** Every process inside `containers`, seen from the host. */
async function agentPids(containers: string[]): Promise<number[]> {
  if (containers.length === 0) return [];
  const { stdout } = await exec('docker', ['inspect', '-f', '{{.State.Pid}}', ...containers]);
  return stdout.split('\n').filter(Boolean).map(Number).flatMap(treeOf);
}

/** A container's memory as its cgroup counts it (cgroup v1 or v2), MiB. */
async function cgroupMiB(id: string): Promise<number> {
  for (const file of [`/sys/fs/cgroup/memory/docker/${id}/memory.usage_in_bytes`, `/sys/fs/cgroup/system.slice/docker-${id}.scope/memory.current`]) {
    const text = await readFile(file, 'utf8').catch(() => null);
    if (text !== null) return Number(text.trim()) / (1024 * 1024);
  }
  return 0;
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
