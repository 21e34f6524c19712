import { RegistryClient } from '../../shared/clients/registry-client.js';
import type { Dispatch } from '../../shared/protocol/worker-messages.js';
import { makeBundle } from './bundles.js';
import { curveOn, curveTo } from './curve.js';
import { spawnDaemon, type DaemonProcess } from './daemon.js';
import { FakeApi } from './fake-api.js';
import { makeTempDir } from './temp.js';

export interface WorkerCluster {
  dir: string;
  api: FakeApi;
  registry: DaemonProcess;
  registryClient: RegistryClient;
  worker: DaemonProcess;
  nodeId: string;
  /** Packs `files`, pushes the bundle to the registry, and returns what a dispatch needs. */
  push(name: string, files: Record<string, string>): Promise<{ sha256: string; size: number }>;
  /** A dispatch with sensible defaults. */
  call(overrides: Partial<Dispatch> & Pick<Dispatch, 'callId' | 'sha256' | 'size' | 'runtime'>): Dispatch;
  close(): Promise<void>;
}

/**
 * A real registry daemon and a real worker daemon, with the api played by {@link FakeApi}
 * (a real ROUTER) until the API daemon exists. `readyTimeoutMs`: how long the worker may take to
 * say it listens (a node of many miniworker processes starts them all first).
 */
export async function startWorkerCluster(env: Record<string, string> = {}, readyTimeoutMs?: number): Promise<WorkerCluster> {
  const { dir, cleanup } = await makeTempDir('ferry-worker-');
  const api = new FakeApi(dir, curveOn(env));
  await api.start();
  const nodeId = env['FERRY_NODE_ID'] ?? `node-${Math.random().toString(36).slice(2, 8)}`;
  const registry = await spawnDaemon('registry', {
    FERRY_DATA_DIR: dir,
    FERRY_REGISTRY_BIND: 'tcp://127.0.0.1:*',
    FERRY_CURVE: curveOn(env) ? 'on' : 'off',
  });
  const registryClient = new RegistryClient({ registryAddr: registry.endpoint, requestTimeoutMs: 10_000, requestRetries: 0 }, curveTo(registry.endpoint));
  const worker = await spawnDaemon('worker', {
    FERRY_DATA_DIR: dir,
    FERRY_REGISTRY_ADDR: registry.endpoint,
    FERRY_WORKERS_ADDR: api.endpoint,
    FERRY_NODE_ID: nodeId,
    ...env,
  }, readyTimeoutMs);
  let counter = 0;
  return {
    dir,
    api,
    registry,
    registryClient,
    worker,
    nodeId,
    push: async (name, files) => {
      const bundle = await makeBundle(dir, `${name}-${++counter}`, files);
      await registryClient.putFile(bundle.file);
      return { sha256: bundle.sha256, size: bundle.size };
    },
    call: (o) => ({ attempt: 1, function: 'fn', version: 1, params: null, timeoutMs: 30_000, memoryMb: 256, ...o }),
    close: async () => {
      await worker.kill();
      await registryClient.close();
      await registry.kill();
      api.close();
      await cleanup();
    },
  };
}
