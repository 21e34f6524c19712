import type { CurveConfig, RegistryConfig } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import { registryRequestSchemas, type RegistryReplyContent } from '../../shared/protocol/registry-messages.js';
import { Refusals } from '../../shared/refusals.js';
import { openDaemonKeys, openServerCurve } from '../../shared/security/daemon-curve.js';
import { startMetricsServer, type MetricsServer } from '../../shared/metrics/metrics-server.js';
import { BulkReply, RpcServer } from '../../shared/transport/rpc-server.js';
import { BundleStore } from './bundle-store.js';
import { BundleUploads } from './bundle-uploads.js';
import { RegistryMetrics } from './metrics.js';

export interface RegistryDaemon {
  endpoint: string;
  close(): Promise<void>;
}

/** Serves the bundle store on a ROUTER socket (CurveZMQ, allowed client keys only). */
export async function startRegistryDaemon(config: RegistryConfig, curveConfig: CurveConfig, log: Logger): Promise<RegistryDaemon> {
  const keys = await openDaemonKeys(curveConfig, 'registry', log);
  const curve = await openServerCurve(curveConfig, keys, log);
  const bundles = await BundleStore.open(config.dir, config.maxBundleBytes);
  const uploads = new BundleUploads(bundles, log.child({ module: 'registry.uploads' }));
  const refusals = new Refusals(log.child({ module: 'registry.refusals' }));
  const metrics = new RegistryMetrics(refusals);
  const server = new RpcServer<typeof registryRequestSchemas, RegistryReplyContent>({
    bind: config.bind,
    schemas: registryRequestSchemas,
    log: log.child({ module: 'registry.server' }),
    refusals,
    curve,
    role: 'registry',
    handlers: {
      ping: async () => ({ now: Date.now(), refused: refusals.snapshot() }),
      putBundle: async ({ sha256, size }, ctx) => {
        metrics.received(ctx.bulk);
        const { stored } = await bundles.put(sha256, size, ctx.bulk);
        ctx.log.info({ sha256, size, stored }, 'bundle put');
        return { sha256, size, stored };
      },
      putPart: async ({ uploadId, offset }, ctx) => {
        metrics.received(ctx.bulk);
        return { received: await uploads.part(uploadId, offset, ctx.bulk) };
      },
      putCommit: async ({ uploadId, sha256: expected, size }, ctx) => {
        const { sha256, stored } = await uploads.commit(uploadId, expected, size);
        ctx.log.info({ sha256, size, stored }, 'bundle put');
        return { sha256, size, stored };
      },
      putAbort: async ({ uploadId }) => ({ aborted: await uploads.abort(uploadId) }),
      getBundle: async ({ sha256 }) => {
        const { size, chunks } = await bundles.read(sha256);
        metrics.sent(chunks);
        return new BulkReply({ sha256, size }, chunks);
      },
      getPart: async ({ sha256, offset, length }) => {
        const { size, bytes } = await bundles.readPart(sha256, offset, length);
        metrics.sent([bytes]);
        return new BulkReply({ sha256, size, offset }, [bytes]);
      },
      hasBundle: async ({ sha256 }) => {
        const size = await bundles.size(sha256);
        return { exists: size !== null, size };
      },
      deleteBundle: async ({ sha256 }) => ({ deleted: await bundles.delete(sha256) }),
    },
  });
  let endpoint: string;
  let metricsServer: MetricsServer | null;
  try {
    endpoint = await server.start();
    metricsServer = await startMetricsServer(config.metrics, metrics.registry);
  } catch (err) {
    await server.close();
    curve?.allowed.close();
    throw err;
  }
  log.info(
    { endpoint, publicKey: keys?.publicKey ?? null, dir: config.dir, maxBundleBytes: config.maxBundleBytes, metricsUrl: metricsServer?.url ?? null },
    'listening',
  );
  return {
    endpoint,
    close: async () => {
      try {
        await Promise.all([server.close(), metricsServer?.close()]);
      } finally {
        curve?.allowed.close();
        await uploads.close(); // their temp files go even when the server's close failed
      }
    },
  };
}
