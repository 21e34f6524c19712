import type { CurveConfig, DbConfig } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import { dbRequestSchemas, type DbReplyContent } from '../../shared/protocol/db-messages.js';
import { Refusals } from '../../shared/refusals.js';
import { openDaemonKeys, openServerCurve } from '../../shared/security/daemon-curve.js';
import { startMetricsServer, type MetricsServer } from '../../shared/metrics/metrics-server.js';
import { RpcServer } from '../../shared/transport/rpc-server.js';
import { dbHandlers } from './handlers.js';
import { DbMetrics } from './metrics.js';
import { openCallStore } from './open-store.js';

export interface DbDaemon {
  endpoint: string;
  close(): Promise<void>;
}

/** Opens the store (LevelDB or PostgreSQL), serves it on a ROUTER socket (CurveZMQ, allowed client keys only), and runs the retention passes. */
export async function startDbDaemon(config: DbConfig, curveConfig: CurveConfig, log: Logger): Promise<DbDaemon> {
  const keys = await openDaemonKeys(curveConfig, 'db', log);
  const curve = await openServerCurve(curveConfig, keys, log);
  const refusals = new Refusals(log.child({ module: 'db.refusals' }));
  const metrics = new DbMetrics(refusals);
  const store = await openCallStore(config, metrics.onBatch, log);
  metrics.showCalls(() => store.callsByStatus());
  const server = new RpcServer<typeof dbRequestSchemas, DbReplyContent>({
    bind: config.bind,
    schemas: dbRequestSchemas,
    handlers: dbHandlers(store.ops, refusals, metrics.onCallWrite),
    log: log.child({ module: 'db.server' }),
    refusals,
    curve,
    role: 'db',
  });
  let endpoint: string;
  let metricsServer: MetricsServer | null;
  try {
    endpoint = await server.start();
    metricsServer = await startMetricsServer(config.metrics, metrics.registry);
  } catch (err) {
    await server.close();
    curve?.allowed.close();
    await store.close();
    throw err;
  }
  log.info(
    {
      endpoint,
      publicKey: keys?.publicKey ?? null,
      ...store.facts,
      callRetentionMs: config.callRetentionMs,
      retentionScanMs: config.retentionScanMs,
      listScanMax: config.listScanMax,
      listScanMs: config.listScanMs,
      metricsUrl: metricsServer?.url ?? null,
    },
    'listening',
  );
  // After listening: a first pass over a large store must not hold up the daemon's start.
  store.start();
  let closing: Promise<void> | undefined;
  return {
    endpoint,
    close: () =>
      (closing ??= (async () => {
        // Every step runs even when one before it fails; the store closes last.
        const steps = await Promise.allSettled([server.close(), metricsServer?.close()]);
        curve?.allowed.close();
        await store.close();
        const failed = steps.find((s): s is PromiseRejectedResult => s.status === 'rejected');
        if (failed) throw failed.reason;
      })()),
  };
}
