import { readFile, readdir } from 'node:fs/promises';

/**
 * Resident memory of a process and all its descendants, in bytes, from /proc. Used by the
 * process driver to enforce a call's memory limit where no cgroup is at hand.
 */
export async function treeRssBytes(rootPid: number): Promise<number> {
  const children = new Map<number, number[]>();
  const rss = new Map<number, number>();
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return 0;
  }
  await Promise.all(
    entries
      .filter((e) => /^\d+$/.test(e))
      .map(async (e) => {
        try {
          const status = await readFile(`/proc/${e}/status`, 'utf8');
          const ppid = Number(/PPid:\s+(\d+)/.exec(status)?.[1] ?? 0);
          const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
          const pid = Number(e);
          rss.set(pid, kb * 1024);
          const list = children.get(ppid) ?? [];
          list.push(pid);
          children.set(ppid, list);
        } catch {
          // the process ended while we looked
        }
      }),
  );
  let total = 0;
  const stack = [rootPid];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    total += rss.get(pid) ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return total;
}
