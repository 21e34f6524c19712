import { nanoid } from 'nanoid';
import { createDbClient, type DbClient } from '../../shared/clients/db-client.js';
import { FerryError } from '../../shared/errors.js';
import { curveTo } from './curve.js';
import { spawnDaemon, type DaemonProcess } from './daemon.js';

export const HOUR = 3_600_000;

/** The typed error `p` fails with (a test failure when it succeeds). */
export async function errorOf(p: Promise<unknown>): Promise<FerryError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof FerryError) return err;
    throw err;
  }
  throw new Error('expected the request to fail');
}

/** A function name no other test of the run uses. */
export const fnName = (prefix: string): string => `${prefix}-${nanoid(6).toLowerCase().replace(/[^a-z0-9]/g, 'x')}`;

export interface RunningDb {
  daemon: DaemonProcess;
  db: DbClient;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * A db daemon on `dir`. The retention timer is pushed out of the way (an hour) unless a test asks
 * otherwise, so passes run only when a test calls purgeExpired (and once at start).
 */
export async function startDb(dir: string, env: Record<string, string> = {}): Promise<RunningDb> {
  const daemon = await spawnDaemon('db', { FERRY_DATA_DIR: dir, FERRY_DB_BIND: 'tcp://127.0.0.1:*', FERRY_RETENTION_SCAN_MS: String(HOUR), ...env });
  const db = createDbClient({ dbAddr: daemon.endpoint, requestTimeoutMs: 10_000, requestRetries: 0 }, curveTo(daemon.endpoint));
  return {
    daemon,
    db,
    stop: async (signal) => {
      await db.close();
      await daemon.kill(signal);
    },
  };
}

