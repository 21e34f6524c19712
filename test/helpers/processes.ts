import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on Linux). */
export const TICKS_PER_S = 100;

/** Process ids whose parent is `parent`. */
export function childrenOf(parent: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const fields = procStat(Number(name));
    if (fields && Number(fields[1]) === parent) pids.push(Number(name));
  }
  return pids;
}

/** `pid` and every process below it. */
export function treeOf(pid: number): number[] {
  return [pid, ...childrenOf(pid).flatMap(treeOf)];
}

export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/** The miniworker processes of the worker daemon `workerPid`. */
export function miniworkersOf(workerPid: number): number[] {
  return childrenOf(workerPid).filter((pid) => cmdline(pid).includes('miniworker'));
}

/** Resident memory of `pid` in MiB (0 once it is gone). */
export function rssMiB(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
    return line ? Number(line.split(/\s+/)[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * CPU time `pid` has used so far (user + system), in ms (0 once it is gone); with `reaped`, also
 * that of the children it has waited for (cutime + cstime).
 */
export function cpuMs(pid: number, reaped = false): number {
  const f = procStat(pid);
  if (!f) return 0;
  const ticks = Number(f[11]) + Number(f[12]) + (reaped ? Number(f[13]) + Number(f[14]) : 0);
  return (ticks * 1000) / TICKS_PER_S;
}

/** CPU ms a container's cgroup has used, by the pid of a process in it: cgroup v2, else v1's cpuacct. */
export async function containerCpuMs(pid: number): Promise<number> {
  const lines = (await readFile(`/proc/${pid}/cgroup`, 'utf8').catch(() => '')).split('\n');
  for (const line of lines) {
    const [, controllers, cgPath] = line.split(':');
    if (cgPath === undefined) continue;
    if (controllers === '') {
      for (const root of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) {
        const usage = /usage_usec (\d+)/.exec(await readFile(`${root}${cgPath}/cpu.stat`, 'utf8').catch(() => ''));
        if (usage) return Number(usage[1]) / 1000;
      }
    } else if (controllers?.split(',').includes('cpuacct')) {
      const ns = await readFile(`/sys/fs/cgroup/cpuacct${cgPath}/cpuacct.usage`, 'utf8').catch(() => '');
      if (ns.trim() !== '') return Number(ns) / 1e6;
    }
  }
  return 0;
}

/**
 * /proc/<pid>/stat (or, given `tid`, that of one of its threads) from its state on (field 3), or
 * null once it is gone: the command name (field 2) may hold spaces and parentheses.
 */
export function procStat(pid: number, tid?: number): string[] | null {
  try {
    const stat = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** utime + stime of a {@link procStat} in ms. */
function ownCpuMs(f: string[]): number {
  return ((Number(f[11]) + Number(f[12])) * 1000) / TICKS_PER_S;
}

/** CPU ms the whole machine has spent busy (every core, all but idle and iowait), from /proc/stat. */
export async function machineBusyMs(): Promise<number> {
  const [cpu] = (await readFile('/proc/stat', 'utf8')).split('\n');
  const n = cpu!.trim().split(/\s+/).slice(1).map(Number);
  const busy = n.reduce((a, b) => a + b, 0) - n[3]! - n[4]!;
  return (busy * 1000) / TICKS_PER_S;
}

/** CPU ms the main thread of `pid` has used (a Node process's event loop), apart from its other threads; 0 once it is gone. */
export function mainThreadCpuMs(pid: number): number {
  const f = procStat(pid, pid);
  return f ? ownCpuMs(f) : 0;
}

/**
 * CPU ms used so far by each of `roots` and every process below it, summed, read in one pass
 * over /proc (many roots at once, where {@link treeOf} per root would read it once each).
 */
export function treesCpuMs(roots: number[]): number {
  const children = new Map<number, number[]>();
  const own = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = procStat(Number(name));
    if (!f) continue;
    const parent = Number(f[1]);
    children.set(parent, [...(children.get(parent) ?? []), Number(name)]);
    own.set(Number(name), ownCpuMs(f));
  }
  const sum = (pid: number): number => (own.get(pid) ?? 0) + (children.get(pid) ?? []).reduce((n, c) => n + sum(c), 0);
  return roots.reduce((n, root) => n + sum(root), 0);
}
