import type { DbConfig } from '../../../shared/config.js';
import type { Logger } from '../../../shared/logger.js';
import type { CallStore } from '../call-store.js';
import { storeOperations } from '../store-operations.js';
import { ApiKeys } from './api-keys.js';
import { Calls } from './calls.js';
import { Catalog } from './catalog.js';
import { Groups } from './groups.js';
import { Leases } from './leases.js';
import { Retention } from './retention.js';
import { SessionPages } from './session-pages.js';
import { Store } from './store.js';
import type { BatchObserver } from './write-queue.js';

/** The embedded store: one LevelDB in the db daemon's data folder (one host, one api). */
export async function openLevelStore(config: DbConfig, onBatch: BatchObserver, log: Logger): Promise<CallStore> {
  const store = await Store.open(config.dir, { sync: config.sync, onBatch });
  const groups = new Groups(store);
  const calls = new Calls(store, groups, { entries: config.listScanMax, ms: config.listScanMs });
  const retention = new Retention(
    store,
    calls,
    { callRetentionMs: config.callRetentionMs, scanMs: config.retentionScanMs },
    log.child({ module: 'db.retention' }),
  );
  const catalog = new Catalog(store);
  const pages = new SessionPages(store, groups);
  const apiKeys = new ApiKeys(store);
  const leases = new Leases(store);
  return {
    kind: 'level',
    facts: { store: 'level', dir: config.dir, sync: config.sync, lastCallNum: store.counters.lastCallNum },
    callsByStatus: async () => ({ ...store.counters.callsByStatus }),
    start: () => retention.runner.start(),
    close: async () => {
      // The store closes even when the pass fails to stop.
      await retention.runner.stop().finally(() => store.close());
    },
    ops: storeOperations({
      catalog,
      calls,
      groups,
      pages,
      apiKeys,
      leases,
      purge: () => retention.runner.runNow(),
      counters: async () => ({
        lastCallNum: store.counters.lastCallNum,
        callsByStatus: { ...store.counters.callsByStatus },
        oldestCall: await calls.oldest(),
      }),
      stats: async ({ fromMs, toMs, failures }) => ({
        slices: await calls.stats.read(fromMs, toMs),
        recentFailures: await calls.recentFailures(failures),
        callsByStatus: { ...store.counters.callsByStatus },
      }),
    }),
  };
}
