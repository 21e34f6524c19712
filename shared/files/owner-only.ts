import { randomBytes } from 'node:crypto';
import { link, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/**
 * A temp file beside `file` made with mode 0600 (never readable by others, not even for a moment:
 * no chmod after), holding `data` synced to disk. Its folder must exist.
 */
async function ownerOnlyTemp(file: string, data: string | Buffer): Promise<string> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return temp;
}

/** Writes `data` to `file`, readable by its owner alone, replacing what was there once written. */
export async function writeOwnerOnly(file: string, data: string | Buffer): Promise<void> {
  const temp = await ownerOnlyTemp(file, data);
  try {
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/**
 * Makes `file` holding `data`, readable by its owner alone, unless it exists: a file another
 * process made first is never replaced (a link, not a rename). Answers whether this call made it.
 */
export async function createOwnerOnly(file: string, data: string | Buffer): Promise<boolean> {
  const temp = await ownerOnlyTemp(file, data);
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
