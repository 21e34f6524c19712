import type { RegistryConfig } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import { registryRequestSchemas, type RegistryReplyContent } from '../../shared/protocol/registry-messages.js';
import { BulkReply, RpcServer } from '../../shared/transport/rpc-server.js';
import { BundleStore } from './bundle-store.js';

export interface RegistryDaemon {
  endpoint: string;
  close(): Promise<void>;
}

/** Serves the bundle store on a ROUTER socket. */
export async function startRegistryDaemon(config: RegistryConfig, log: Logger): Promise<RegistryDaemon> {
  const bundles = await BundleStore.open(config.dir, config.maxBundleBytes);
  const server = new RpcServer<typeof registryRequestSchemas, RegistryReplyContent>({
    bind: config.bind,
    schemas: registryRequestSchemas,
    log: log.child({ module: 'registry.server' }),
    // Frames are 1 MiB chunks; anything far larger is not a Ferry client and is cut off by ZeroMQ.
    maxFrameBytes: 64 * 1024 * 1024,
    handlers: {
      ping: async () => ({ now: Date.now() }),
      putBundle: async ({ sha256, size }, ctx) => {
        const { stored } = await bundles.put(sha256, size, ctx.bulk);
        ctx.log.info({ sha256, size, stored }, 'bundle put');
        return { sha256, size, stored };
      },
      getBundle: async ({ sha256 }) => {
        const { size, chunks } = await bundles.read(sha256);
        return new BulkReply({ sha256, size }, chunks);
      },
      hasBundle: async ({ sha256 }) => {
        const size = await bundles.size(sha256);
        return { exists: size !== null, size };
      },
      deleteBundle: async ({ sha256 }) => ({ deleted: await bundles.delete(sha256) }),
    },
  });
  const endpoint = await server.start();
  log.info({ endpoint, dir: config.dir, maxBundleBytes: config.maxBundleBytes }, 'listening');
  return { endpoint, close: () => server.close() };
}
