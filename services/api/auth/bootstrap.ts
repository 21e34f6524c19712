import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { DbClient } from '../../../shared/clients/db-client.js';
import type { Logger } from '../../../shared/logger.js';
import { newApiKey } from '../../../shared/protocol/api-key.js';

/**
 * Makes the first admin key when the store holds no key at all (the DB decides, so of two apis
 * starting at once only one makes it), writes it to `file` readable by its owner alone, and logs
 * it this once. Answers whether it made one.
 */
export async function bootstrapAdminKey(db: DbClient, file: string, log: Logger): Promise<boolean> {
  const { keyId, key, hash } = newApiKey();
  const made = await db.call('bootstrapAdminKey', { keyId, hash, name: 'first admin key' });
  if (made.key === null) return false;
  await writeOwnerOnly(file, `${key}\n`);
  log.warn({ keyId, file, key }, 'first admin key made: it is shown this once and kept in the file named here');
  return true;
}

/** Writes `text` to `file` through a new file made with mode 0600 (never readable by others, not even for a moment), then renamed into place. */
async function writeOwnerOnly(file: string, text: string): Promise<void> {
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
