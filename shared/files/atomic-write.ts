import { randomBytes } from 'node:crypto';
import { link, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/**
 * A temp file beside `file` made with `mode` (0600: never readable by others, not even for a
 * moment: no chmod after), holding `data` synced to disk. Its folder must exist.
 */
async function tempWith(file: string, data: string | Buffer, mode: number): Promise<string> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return temp;
}

/** Writes `data` to `file` with `mode`, replacing what was there once written: a reader sees the old file or the new, never part of one. */
export async function writeFileAtomic(file: string, data: string | Buffer, mode: number): Promise<void> {
  const temp = await tempWith(file, data, mode);
  try {
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/** Writes `data` to `file`, readable by its owner alone, replacing what was there once written. */
export const writeOwnerOnly = (file: string, data: string | Buffer): Promise<void> => writeFileAtomic(file, data, 0o600);

/**
 * Makes `file` holding `data`, readable by its owner alone, unless it exists: a file another
 * process made first is never replaced (a link, not a rename). Answers whether this call made it.
 */
export async function createOwnerOnly(file: string, data: string | Buffer): Promise<boolean> {
  const temp = await tempWith(file, data, 0o600);
  try {
    await link(temp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await rm(temp, { force: true });
  }
}
