import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, open, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import * as tar from 'tar';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import type { DaemonProcess } from '../helpers/daemon.js';
import { http, tokenFor, upload } from '../helpers/http.js';
import { median, round, timeMs } from './stats.js';
import type { Row } from './table.js';
import { cpuMs, rssMiB } from '../helpers/processes.js';

const MiB = 1024 * 1024;
const exec = promisify(execFile);
/** Clock ticks per second of /proc/<pid>/stat's CPU times (USER_HZ, 100 on Linux). */

/** A python bundle with `mib` MiB of random bytes beside its main.py (saying `tag`), packed into `file` at gzip level 1. */
export async function randomBundle(dir: string, file: string, mib: number, tag = 'big'): Promise<void> {
  await mkdir(dir, { recursive: true });
  const fh = await open(path.join(dir, 'blob.bin'), 'w');
  for (let i = 0; i < mib; i++) await fh.write(randomBytes(MiB));
  await fh.close();
  await writeFile(path.join(dir, 'main.py'), `def main(params, ctx=None):\n    return ${JSON.stringify(tag)}\n`);
  await tar.c({ gzip: { level: 1 }, file, cwd: dir, portable: true }, ['main.py', 'blob.bin']);
  await rm(dir, { recursive: true, force: true });
}

/**
 * Pushes `file` as a new version of `fn` and returns the answer's status and body. curl streams
 * the file as a user's push does, from its own process, so the bench's event loop stays free for
 * what it times (the test helper reads the file whole into memory first, and is the fallback on a
 * host without curl). The runtime goes first, so the api can check it before the bundle.
 */
export async function push(url: string, fn: string, file: string): Promise<{ status: number; body: string }> {
  const target = `${url}/v1/functions/${fn}`;
  if (await hasCurl) {
    const key = tokenFor(url);
    const auth = key === undefined ? [] : ['-u', `:${key}`];
    const { stdout } = await exec('curl', ['-sS', ...auth, '-w', '\n%{http_code}', '-F', 'runtime=py', '-F', `module=@${file}`, target], { maxBuffer: MiB });
    const at = stdout.lastIndexOf('\n');
    return { status: Number(stdout.slice(at + 1)), body: stdout.slice(0, at) };
  }
  const r = await upload(target, file, { runtime: 'py' });
  return { status: r.status, body: r.text };
}
const hasCurl = exec('curl', ['--version']).then(() => true, () => false);

interface ProcSample {
  rssKib: number;
  cpuMs: number;
}

function procSample(pid: number): ProcSample {
  return { rssKib: rssMiB(pid) * 1024, cpuMs: cpuMs(pid) };
}

/** What a daemon used while one transfer ran: its peak RSS above what it held just before, and its CPU time. */
interface DaemonUse {
  peakAboveIdleMib: number;
  cpuMs: number;
}

/**
 * Runs `what` while sampling each daemon's RSS from /proc every few milliseconds; gives each
 * daemon's peak above its RSS right before, and the CPU time it spent meanwhile.
 */
async function watched<T>(daemons: Record<string, DaemonProcess>, what: () => Promise<T>): Promise<{ result: T; use: Record<string, DaemonUse> }> {
  const pids = Object.fromEntries(Object.entries(daemons).map(([name, d]) => [name, d.proc.pid!]));
  const before: Record<string, ProcSample> = {};
  for (const [name, pid] of Object.entries(pids)) before[name] = procSample(pid);
  const peak: Record<string, number> = Object.fromEntries(Object.entries(before).map(([n, s]) => [n, s.rssKib]));
  let running = true;
  const sampler = (async () => {
    while (running) {
      for (const [name, pid] of Object.entries(pids)) peak[name] = Math.max(peak[name]!, (procSample(pid)).rssKib);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  let result: T;
  try {
    result = await what();
  } finally {
    running = false;
    await sampler;
  }
  const use: Record<string, DaemonUse> = {};
  for (const [name, pid] of Object.entries(pids)) {
    const after = procSample(pid);
    peak[name] = Math.max(peak[name]!, after.rssKib);
    use[name] = {
      peakAboveIdleMib: round((peak[name]! - before[name]!.rssKib) / 1024, 1),
      cpuMs: Math.round(after.cpuMs - before[name]!.cpuMs),
    };
  }
  return { result, use };
}

export interface BundleFigures {
  bytes: number;
  rounds: number;
  pushMbPerSec: number;
  pullMbPerSec: number;
  /** `cat bundle > /dev/null` and `tar xzf bundle` on this machine: the floors of a push and a pull. */
  catMbPerSec: number;
  tarXzfMbPerSec: number;
  /** Worst round's peak RSS above idle, per daemon, while pushing and while pulling. */
  pushRss: Record<'api' | 'registry' | 'worker', number>;
  pullRss: Record<'api' | 'registry' | 'worker', number>;
  /** Median CPU ms per daemon per push / per pull. */
  pushCpuMs: Record<'api' | 'registry' | 'worker', number>;
  pullCpuMs: Record<'api' | 'registry' | 'worker', number>;
}

const DAEMONS = ['api', 'registry', 'worker'] as const;
type Daemon = (typeof DAEMONS)[number];
const perDaemon = (f: (d: Daemon) => number): Record<Daemon, number> => ({ api: f('api'), registry: f('registry'), worker: f('worker') });

/** MB/s (MiB, as the rest of the bench) of `bytes` moved in `ms`. */
const mbPerSec = (bytes: number, ms: number): number => round(bytes / MiB / (ms / 1000), 1);

/** The floors: reading the bundle's file, and `tar xzf` of it into a fresh folder. */
async function anchors(file: string, bytes: number, scratch: string): Promise<{ catMs: number; tarMs: number }> {
  const catMs = await timeMs(() => exec('sh', ['-c', `cat '${file}' > /dev/null`]));
  const into = path.join(scratch, 'tar-xzf');
  await mkdir(into, { recursive: true });
  const tarMs = await timeMs(() => exec('tar', ['xzf', file, '-C', into]));
  await rm(into, { recursive: true, force: true });
  if (bytes <= 0) throw new Error('empty bundle');
  return { catMs, tarMs };
}

/**
 * Bundles of `mib` MiB of random bytes (incompressible: gzip level 1 keeps them the same size)
 * plus a main.py, each round a new one: pushed with curl (curl → api → registry, stored: the
 * time curl takes until the 201) and then pulled by the worker on the function's first call
 * (registry → worker, verified and unpacked: the worker's own "bundle cached" time). Each daemon's
 * RSS is sampled from /proc throughout. With no `cluster`, a one-node cluster of its own is
 * started (node `nodeId`).
 */
export async function bundleFigures(quick: boolean, given?: { cluster: Cluster; nodeId: string }, mib = 100): Promise<BundleFigures> {
  const nodeId = given?.nodeId ?? 'nb-bench';
  const cluster = given?.cluster ?? (await startCluster({ workers: [nodeId], logLevel: 'info', workerEnv: { FERRY_MAX_CONTAINERS: '4' } }));
  try {
    const worker = cluster.workers.get(nodeId)!;
    const daemons = { api: cluster.api, registry: cluster.registry, worker };
    await http('POST', `${cluster.url}/v1/runtimes`, { name: 'py', image: 'pythonruntime', path: '/ws', run: 'main.py', protocol: 'agent' });
    const rounds = quick ? 1 : 3;
    const pushMs: number[] = [];
    const pullMs: number[] = [];
    const pushUse: Record<string, DaemonUse>[] = [];
    const pullUse: Record<string, DaemonUse>[] = [];
    const anchorMs: { catMs: number; tarMs: number }[] = [];
    let bytes = 0;
    for (let i = 0; i < rounds; i++) {
      const file = path.join(cluster.dir, `bundle-${i}.tar.gz`);
      await randomBundle(path.join(cluster.dir, `bundle-${i}`), file, mib, `round ${i}`);
      bytes = (await stat(file)).size;
      anchorMs.push(await anchors(file, bytes, cluster.dir));
      const fn = `bundle-bench-${i}`;
      let pushed = { status: 0, body: '' };
      const p = await watched(daemons, async () => timeMs(async () => (pushed = await push(cluster.url, fn, file))));
      if (pushed.status !== 201) throw new Error(`the ${mib} MiB push answered ${pushed.status}: ${pushed.body}`);
      pushMs.push(p.result);
      pushUse.push(p.use);
      const { sha256 } = JSON.parse(pushed.body) as { sha256: string };
      const q = await watched(daemons, async () => {
        const called = await http('POST', `${cluster.url}/v1/functions/${fn}/invoke?wait=true`, {});
        if (called.status !== 200) throw new Error(`the first call of ${fn} answered ${called.status}: ${called.text}`);
      });
      const cached = worker.logs.find((l) => l['msg'] === 'bundle cached' && l['sha256'] === sha256);
      if (!cached) throw new Error(`the worker logged no "bundle cached" for ${sha256}`);
      pullMs.push(Number(cached['ms']));
      pullUse.push(q.use);
      await rm(file, { force: true });
    }
    const worst = (uses: Record<string, DaemonUse>[]) => perDaemon((d) => Math.max(...uses.map((u) => u[d]!.peakAboveIdleMib)));
    const cpu = (uses: Record<string, DaemonUse>[]) => perDaemon((d) => median(uses.map((u) => u[d]!.cpuMs)));
    return {
      bytes,
      rounds,
      pushMbPerSec: mbPerSec(bytes, median(pushMs)),
      pullMbPerSec: mbPerSec(bytes, median(pullMs)),
      catMbPerSec: mbPerSec(bytes, median(anchorMs.map((a) => a.catMs))),
      tarXzfMbPerSec: mbPerSec(bytes, median(anchorMs.map((a) => a.tarMs))),
      pushRss: worst(pushUse),
      pullRss: worst(pullUse),
      pushCpuMs: cpu(pushUse),
      pullCpuMs: cpu(pullUse),
    };
  } finally {
    if (!given) await cluster.close();
  }
}

/** The figures as JSON keys (plain numbers). */
export function bundleJson(f: BundleFigures): Record<string, number> {
  const out: Record<string, number> = {
    bundle_bytes: f.bytes,
    bundle_push_mb_per_s: f.pushMbPerSec,
    bundle_pull_mb_per_s: f.pullMbPerSec,
    bundle_cat_mb_per_s: f.catMbPerSec,
    bundle_tar_xzf_mb_per_s: f.tarXzfMbPerSec,
  };
  for (const d of DAEMONS) {
    out[`bundle_push_${d}_rss_above_idle_mib`] = f.pushRss[d];
    out[`bundle_pull_${d}_rss_above_idle_mib`] = f.pullRss[d];
    out[`bundle_push_${d}_cpu_ms`] = f.pushCpuMs[d];
    out[`bundle_pull_${d}_cpu_ms`] = f.pullCpuMs[d];
  }
  return out;
}

/** Table rows: what, figure, target, anchor. */
export function bundleRows(f: BundleFigures): Row[] {
  const mib = Math.round(f.bytes / MiB);
  const rss = (r: Record<Daemon, number>) => DAEMONS.map((d) => r[d]).join(' / ');
  const cpu = (r: Record<Daemon, number>) => DAEMONS.map((d) => r[d]).join(' / ');
  return [
    [`bundle push MB/s (${mib} MiB random, curl → api → registry, stored)`, `${f.pushMbPerSec}`, '≥ 300', `cat file > /dev/null ${f.catMbPerSec} MB/s`],
    [`bundle pull MB/s (${mib} MiB, registry → worker, verified and unpacked)`, `${f.pullMbPerSec}`, '≥ 300', `tar xzf ${f.tarXzfMbPerSec} MB/s`],
    ['push: peak RSS MiB above idle, api / registry / worker', rss(f.pushRss), '≤ 64 each', ''],
    ['pull: peak RSS MiB above idle, api / registry / worker', rss(f.pullRss), '≤ 64 each', ''],
    ['push / pull CPU ms per bundle, api / registry / worker', `${cpu(f.pushCpuMs)}  |  ${cpu(f.pullCpuMs)}`, '', ''],
  ];
}
