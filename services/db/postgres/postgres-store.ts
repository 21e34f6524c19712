import type { DbConfig } from '../../../shared/config.js';
import type { Logger } from '../../../shared/logger.js';
import type { CallStore } from '../call-store.js';
import { storeOperations } from '../store-operations.js';
import { KeyedLock } from '../keyed-lock.js';
import { PassRunner } from '../pass-runner.js';
import { PgApiKeys } from './pg-api-keys.js';
import { PgCalls } from './pg-calls.js';
import { PgCatalog } from './pg-catalog.js';
import { PgGroups } from './pg-groups.js';
import { PgLeases } from './pg-leases.js';
import { openPool, type TxObserver } from './pg-pool.js';
import { pgRetentionPass } from './pg-retention.js';
import { ensureSchema } from './schema.js';

/** Connections one DB daemon keeps: enough for its writes to commit together, few enough for several daemons on one server. */
const POOL_SIZE = 16;

/**
 * The shared store: a PostgreSQL database several DB daemons (one beside each api) use at once.
 * No state is kept in a daemon but the order of its own writes: numbers come from a sequence,
 * counts from rows, and every change is one transaction.
 */
export async function openPostgresStore(url: string, config: DbConfig, onTx: TxObserver, log: Logger): Promise<CallStore> {
  const db = openPool(url, { sync: config.sync, size: POOL_SIZE, onTx }, log.child({ module: 'db.postgres' }));
  let search: { searchIndex: boolean };
  try {
    search = await ensureSchema(db, log);
  } catch (err) {
    await db.end();
    throw err;
  }
  const lock = new KeyedLock();
  const calls = new PgCalls(db, lock, config.listScanMax);
  const groups = new PgGroups(db);
  const catalog = new PgCatalog(db);
  const apiKeys = new PgApiKeys(db);
  const leases = new PgLeases(db);
  const retention = new PassRunner(
    (control) => pgRetentionPass(db, { callRetentionMs: config.callRetentionMs, batch: 500 }, control),
    config.retentionScanMs,
    log.child({ module: 'db.retention' }),
  );
  const url_ = new URL(url);
  return {
    kind: 'postgres',
    // Never the password.
    facts: { store: 'postgres', database: `${url_.hostname}:${url_.port || 5432}${url_.pathname}`, sync: config.sync, lastCallNum: await calls.lastCallNum(), ...search },
    callsByStatus: () => calls.callsByStatus(),
    start: () => retention.start(),
    close: async () => {
      await retention.stop().finally(() => db.end());
    },
    ops: storeOperations({
      catalog,
      calls,
      groups,
      pages: { next: (id) => groups.nextPage(id), get: (id, page) => groups.getPage(id, page) },
      apiKeys,
      leases,
      purge: () => retention.runNow(),
      counters: async () => ({ lastCallNum: await calls.lastCallNum(), callsByStatus: await calls.callsByStatus(), oldestCall: await calls.oldest() }),
      stats: async ({ fromMs, toMs, failures }) => ({
        slices: await calls.slices(fromMs, toMs),
        recentFailures: await calls.recentFailures(failures),
        callsByStatus: await calls.callsByStatus(),
      }),
    }),
  };
}
