import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/**
 * Writes `text` to `file` through a new file made with mode 0600 (never readable by others, not
 * even for a moment: no chmod after), renamed into place once written. Its folder must exist.
 */
export async function writeOwnerOnly(file: string, text: string): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
