import type { ClientConfig } from '../config.js';
import { moduleLogger } from '../logger.js';
import type { DbReplyContent, DbRequestContent } from '../protocol/db-messages.js';
import type { ClientCurve } from '../security/curve-client.js';
import { RpcClient } from '../transport/rpc-client.js';

/** Typed client of the DB daemon: `await db.call('getCall', { id })`. */
export type DbClient = RpcClient<DbRequestContent, DbReplyContent>;

/** `curve`: this daemon's keys and the db's public key; null with FERRY_CURVE=off. */
export function createDbClient(config: Pick<ClientConfig, 'dbAddr' | 'requestTimeoutMs' | 'requestRetries'>, curve: ClientCurve | null): DbClient {
  return new RpcClient<DbRequestContent, DbReplyContent>({
    curve,
    endpoint: config.dbAddr,
    timeoutMs: config.requestTimeoutMs,
    retries: config.requestRetries,
    log: moduleLogger('db-client'),
  });
}
