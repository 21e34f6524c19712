import type { DbClient } from '../../../shared/clients/db-client.js';
import { writeOwnerOnly } from '../../../shared/files/atomic-write.js';
import type { Logger } from '../../../shared/logger.js';
import { newApiKey } from '../../../shared/protocol/api-key.js';

/**
 * Makes the first admin key when the store holds no key at all (the DB decides, so of two apis
 * starting at once only one makes it) and writes it to `file` readable by its owner alone. The log
 * names the file, never the key: logs travel to places the key must not (`npm start` prints the
 * key once, read from the file). Answers whether it made one.
 */
export async function bootstrapAdminKey(db: DbClient, file: string, log: Logger): Promise<boolean> {
  const { keyId, key, hash } = newApiKey();
  const made = await db.call('bootstrapAdminKey', { keyId, hash, name: 'first admin key' });
  if (made.key === null) return false;
  await writeOwnerOnly(file, `${key}\n`);
  log.warn({ keyId, file }, 'first admin key made and kept in the file named here, readable by its owner alone');
  return true;
}
