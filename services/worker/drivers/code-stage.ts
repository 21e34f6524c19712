import { chmod, copyFile, link, mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';

/** Read for owner, group and others: the container's root has no CAP_DAC_OVERRIDE. */
const READABLE = 0o444;

/**
 * Puts the unpacked code of `codeDir` into `stageDir`, a host folder a container sees read-only,
 * for its agent to copy in. Files are hard links where they can be (no bytes copied, so a big
 * bundle stages as fast as a small one; the read-only mount keeps the node's cached copy safe),
 * else copies made readable. Only files and folders are staged, as the bundle cache unpacks only those.
 */
export async function stageCode(codeDir: string, stageDir: string): Promise<void> {
  await mkdir(stageDir, { recursive: true, mode: 0o755 });
  const entries = await readdir(codeDir, { withFileTypes: true });
  await Promise.all(
    entries.map(async (entry) => {
      const from = path.join(codeDir, entry.name);
      const to = path.join(stageDir, entry.name);
      if (entry.isDirectory()) return stageCode(from, to);
      if (!entry.isFile()) return;
      const { mode } = await stat(from);
      if ((mode & READABLE) === READABLE) {
        // Another filesystem (EXDEV) or a filesystem without links: copy instead.
        const linked = await link(from, to).then(() => true, () => false);
        if (linked) return;
      }
      await copyFile(from, to);
      await chmod(to, (mode & 0o777) | READABLE);
    }),
  );
}
