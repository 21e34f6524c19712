import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/** What the kernel counts for a container's cgroup, read on the host; null where unreadable. */
export interface CgroupCounts {
  /** Processes the OOM killer has killed in it. */
  oomKills: number | null;
  /** Forks refused at its pids limit. */
  pidsLimitHits: number | null;
  /** Processes in it now. */
  processes: number | null;
}

/** Where each count may be read, in the order tried (the layouts differ by cgroup version). */
export interface CgroupFiles {
  oomKills: string[];
  pidsLimitHits: string[];
  processes: string[];
}

/**
 * The files holding the counts of the cgroup of process `pid` (a container's init), from cgroup
 * v2 or the v1 memory and pids hierarchies. Found while the process lives: once it has died its
 * `/proc` entry is gone, while its cgroup's files may still be read for a moment. Null when unreadable.
 */
export async function cgroupFiles(pid: number): Promise<CgroupFiles | null> {
  let cgroups: string;
  try {
    cgroups = await readFile(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    return null;
  }
  const unified: string[] = [];
  const v1 = new Map<string, string>();
  for (const line of cgroups.split('\n')) {
    const [, controllers, cgPath] = line.split(':');
    if (cgPath === undefined) continue;
    if (controllers === '') unified.push(`/sys/fs/cgroup${cgPath}`);
    for (const c of controllers?.split(',') ?? []) v1.set(c, `/sys/fs/cgroup/${c}${cgPath}`);
  }
  const memory = v1.get('memory');
  const pidsDirs = [...unified, ...[v1.get('pids')].filter((d) => d !== undefined)];
  return {
    oomKills: [...unified.map((d) => `${d}/memory.events`), ...(memory ? [`${memory}/memory.oom_control`] : [])],
    pidsLimitHits: pidsDirs.map((d) => `${d}/pids.events`),
    processes: pidsDirs.map((d) => `${d}/cgroup.procs`),
  };
}

/**
 * The counts now. A `docker exec`'d process killed for memory leaves the container running, so
 * its OOMKilled flag stays false: the OOM count tells such a kill from a crash. The pids counts
 * tell a call that hit its process limit, or left processes running behind it.
 */
export function cgroupCounts(files: CgroupFiles): CgroupCounts {
  return {
    oomKills: firstCount(files.oomKills, (text) => field(text, 'oom_kill')),
    pidsLimitHits: firstCount(files.pidsLimitHits, (text) => field(text, 'max')),
    processes: firstCount(files.processes, (text) => text.split('\n').filter((l) => l !== '').length),
  };
}

/** `name N` on a line of a cgroup's flat-keyed file. */
function field(text: string, name: string): number | null {
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

/**
 * Read in place, not through the thread pool: a cgroup file is made in memory by the kernel in
 * microseconds, while each asynchronous read (open, stat, read, close, each a hop through the
 * pool and back) cost a warm call more CPU than the call's own message handling.
 */
function firstCount(files: string[], parse: (text: string) => number | null): number | null {
  for (const [i, file] of files.entries()) {
    try {
      const n = parse(readFileSync(file, 'utf8'));
      if (n === null) continue;
      // A host's layout stays: the file that answered is read first from now on, with no failed reads before it.
      if (i > 0) files.unshift(...files.splice(i, 1));
      return n;
    } catch {
      // not this layout, or the cgroup is gone
    }
  }
  return null;
}
