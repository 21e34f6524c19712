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

/**
 * The counts of the cgroup of process `pid` (a container's init), from cgroup v2 files or the v1
 * memory and pids hierarchies. A `docker exec`'d process killed for memory leaves the container
 * running, so its OOMKilled flag stays false: the OOM count tells such a kill from a crash. The
 * pids counts tell a call that hit its process limit, or left processes running behind it.
 */
export async function cgroupCounts(pid: number): Promise<CgroupCounts> {
  let cgroups: string;
  try {
    cgroups = await readFile(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    return { oomKills: null, pidsLimitHits: null, processes: null };
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
  const pids = v1.get('pids');
  const [oomKills, pidsLimitHits, processes] = await Promise.all([
    firstCount([...unified.map((d) => `${d}/memory.events`), ...(memory ? [`${memory}/memory.oom_control`] : [])], (text) => field(text, 'oom_kill')),
    firstCount([...unified, ...(pids ? [pids] : [])].map((d) => `${d}/pids.events`), (text) => field(text, 'max')),
    firstCount([...unified, ...(pids ? [pids] : [])].map((d) => `${d}/cgroup.procs`), (text) => text.split('\n').filter((l) => l !== '').length),
  ]);
  return { oomKills, pidsLimitHits, processes };
}

/** `name N` on a line of a cgroup's flat-keyed file. */
function field(text: string, name: string): number | null {
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

/** The count read from the first of `files` that exists and parses (the layouts differ by cgroup version). */
async function firstCount(files: string[], parse: (text: string) => number | null): Promise<number | null> {
  for (const file of files) {
    try {
      const n = parse(await readFile(file, 'utf8'));
      if (n !== null) return n;
    } catch {
      // not this layout
    }
  }
  return null;
}
