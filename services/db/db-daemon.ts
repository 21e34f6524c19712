import type { DbConfig } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import { dbRequestSchemas, type DbReplyContent } from '../../shared/protocol/db-messages.js';
import { RpcServer } from '../../shared/transport/rpc-server.js';
import { dbHandlers } from './handlers.js';
import { Store } from './store.js';

export interface DbDaemon {
  endpoint: string;
  close(): Promise<void>;
}

/** Opens the LevelDB and serves it on a ROUTER socket. */
export async function startDbDaemon(config: DbConfig, log: Logger): Promise<DbDaemon> {
  const store = await Store.open(config.dir, { sync: config.sync });
  const server = new RpcServer<typeof dbRequestSchemas, DbReplyContent>({
    bind: config.bind,
    schemas: dbRequestSchemas,
    handlers: dbHandlers(store),
    log: log.child({ module: 'db.server' }),
  });
  let endpoint: string;
  try {
    endpoint = await server.start();
  } catch (err) {
    await store.close();
    throw err;
  }
  log.info({ endpoint, dir: config.dir, sync: config.sync, lastCallNum: store.counters.lastCallNum }, 'listening');
  let closing: Promise<void> | undefined;
  return {
    endpoint,
    close: () =>
      (closing ??= (async () => {
        try {
          await server.close();
        } finally {
          await store.close();
        }
      })()),
  };
}
