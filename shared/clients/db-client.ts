import type { ClientConfig } from '../config.js';
import { moduleLogger } from '../logger.js';
import type { DbReplyContent, DbRequestContent } from '../protocol/db-messages.js';
import { RpcClient } from '../transport/rpc-client.js';

/** Typed client of the DB daemon: `await db.call('getCall', { id })`. */
export type DbClient = RpcClient<DbRequestContent, DbReplyContent>;

export function createDbClient(config: Pick<ClientConfig, 'dbAddr' | 'requestTimeoutMs' | 'requestRetries'>): DbClient {
  return new RpcClient<DbRequestContent, DbReplyContent>({
    endpoint: config.dbAddr,
    timeoutMs: config.requestTimeoutMs,
    retries: config.requestRetries,
    log: moduleLogger('db-client'),
  });
}
