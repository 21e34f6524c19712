import type { DbConfig } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import type { CallStore } from './call-store.js';
import { openLevelStore } from './level/level-store.js';
import { openPostgresStore } from './postgres/postgres-store.js';
import type { BatchObserver } from './level/write-queue.js';

/** The store `config.store` names: LevelDB in the data folder, or a PostgreSQL database; `onBatch` hears of each write batch (LevelDB) or transaction (PostgreSQL). */
export async function openCallStore(config: DbConfig, onBatch: BatchObserver, log: Logger): Promise<CallStore> {
  return config.store === 'level' ? openLevelStore(config, onBatch, log) : openPostgresStore(config.store, config, onBatch, log);
}
