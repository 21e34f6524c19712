import { readFile } from 'node:fs/promises';

/**
 * How many processes the kernel's OOM killer has killed in the cgroup of process `pid` (a
 * container's init), read from cgroup v2 `memory.events` or v1 `memory.oom_control`. A `docker
 * exec`'d process killed for memory leaves the container running, so its OOMKilled flag stays
 * false: this count is how such a kill is told from a plain crash. Null when unreadable.
 */
export async function oomKillCount(pid: number): Promise<number | null> {
  let cgroups: string;
  try {
    cgroups = await readFile(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    return null;
  }
  const candidates: string[] = [];
  for (const line of cgroups.split('\n')) {
    const [, controllers, cgPath] = line.split(':');
    if (cgPath === undefined) continue;
    if (controllers === '') candidates.push(`/sys/fs/cgroup${cgPath}/memory.events`);
    if (controllers?.split(',').includes('memory')) candidates.push(`/sys/fs/cgroup/memory${cgPath}/memory.oom_control`);
  }
  for (const file of candidates) {
    try {
      const m = /^oom_kill (\d+)$/m.exec(await readFile(file, 'utf8'));
      if (m) return Number(m[1]);
    } catch {
      // not this layout
    }
  }
  return null;
}
