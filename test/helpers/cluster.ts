import { inject } from 'vitest';
import { freshDatabase } from './postgres.js';
import { readFile } from 'node:fs/promises';
import { adminKeyFile } from '../../shared/config.js';
import type { DaemonProcess } from './daemon.js';
import { spawnDaemon } from './daemon.js';
import { forgetToken, useToken } from './http.js';
import { makeTempDir } from './temp.js';

export interface Cluster {
  dir: string;
  url: string;
  db: DaemonProcess;
  registry: DaemonProcess;
  api: DaemonProcess;
  workers: Map<string, DaemonProcess>;
  /** The admin key the api made at its first start, which the HTTP helpers send to it; null with auth off. */
  adminKey: string | null;
  /** Environment every daemon of this cluster shares (endpoints resolved). */
  env: Record<string, string>;
  startWorker(nodeId: string, extra?: Record<string, string>): Promise<DaemonProcess>;
  restart(name: 'db' | 'api'): Promise<DaemonProcess>;
  close(): Promise<void>;
}

/** The admin key an api wrote in `dir` at its first start; null when it wrote none (auth off). */
export async function readAdminKey(dir: string): Promise<string | null> {
  try {
    return (await readFile(adminKeyFile(dir), 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * The store of every cluster a test starts: LevelDB in its data dir, or with
 * FERRY_TEST_CLUSTER_STORE=postgres a new database on the run's PostgreSQL (the whole suite on
 * the shared store).
 */
async function clusterStore(): Promise<Record<string, string>> {
  if (process.env.FERRY_TEST_CLUSTER_STORE !== 'postgres') return {};
  const server = inject('postgresUrl');
  if (server === null) throw new Error('FERRY_TEST_CLUSTER_STORE=postgres, but this machine has no PostgreSQL');
  return { FERRY_STORE: await freshDatabase(server) };
}

/**
 * A whole Ferry cluster as real processes on loopback: db, registry, api (HTTP on a free port)
 * and any number of workers, sharing one temp data dir. With auth on (the default) the HTTP
 * helpers (`http()`, `upload()`, `readEvents()`, the CLI runners…) send the api's admin key to it.
 */
export async function startCluster(
  options: {
    workers?: string[];
    workerEnv?: Record<string, string>;
    apiEnv?: Record<string, string>;
    /** Environment of every daemon of the cluster (`FERRY_CURVE=off`, for one). */
    env?: Record<string, string>;
    logLevel?: string;
    /** Runs on the data dir before any daemon starts (to give the db a store filled beforehand). */
    prepare?: (dir: string) => Promise<void>;
  } = {},
): Promise<Cluster> {
  const { dir, cleanup } = await makeTempDir('ferry-cluster-');
  try {
    await options.prepare?.(dir);
  } catch (err) {
    await cleanup();
    throw err;
  }
  const base: Record<string, string> = {
    FERRY_DATA_DIR: dir,
    ...(await clusterStore()),
    ...(options.logLevel ? { FERRY_LOG_LEVEL: options.logLevel } : {}),
    ...options.env,
  };
  const started: DaemonProcess[] = [];
  // A daemon that fails to start must not leave the ones before it running.
  const spawn = async (name: string, env: Record<string, string>): Promise<DaemonProcess> => {
    try {
      const d = await spawnDaemon(name, env);
      started.push(d);
      return d;
    } catch (err) {
      for (const d of started.reverse()) await d.kill();
      await cleanup();
      throw err;
    }
  };
  const db = await spawn('db', { ...base, FERRY_DB_BIND: 'tcp://127.0.0.1:*' });
  const registry = await spawn('registry', { ...base, FERRY_REGISTRY_BIND: 'tcp://127.0.0.1:*' });
  const env: Record<string, string> = { ...base, FERRY_DB_ADDR: db.endpoint, FERRY_REGISTRY_ADDR: registry.endpoint };
  const apiEnv = { ...env, FERRY_HTTP_PORT: '0', FERRY_WORKERS_BIND: 'tcp://127.0.0.1:*', ...options.apiEnv };
  let api = await spawn('api', apiEnv);
  env['FERRY_WORKERS_ADDR'] = api.endpoint;
  const url = String(api.ready['url']);
  const adminKey = await readAdminKey(dir);
  if (adminKey !== null) useToken(url, adminKey);
  const workers = new Map<string, DaemonProcess>();
  const cluster: Cluster = {
    dir,
    url,
    adminKey,
    db,
    registry,
    api,
    workers,
    env,
    startWorker: async (nodeId, extra = {}) => {
      const w = await spawnDaemon('worker', { ...env, FERRY_NODE_ID: nodeId, FERRY_DRIVER: 'docker', ...options.workerEnv, ...extra });
      workers.set(nodeId, w);
      return w;
    },
    restart: async (name) => {
      if (name === 'db') {
        await cluster.db.kill('SIGKILL');
        // Same data dir, same endpoint: clients reconnect on their own.
        cluster.db = await spawnDaemon('db', { ...base, FERRY_DB_BIND: cluster.db.endpoint });
        return cluster.db;
      }
      await cluster.api.kill('SIGKILL');
      cluster.api = await spawnDaemon('api', {
        ...apiEnv,
        FERRY_HTTP_PORT: new URL(cluster.url).port,
        FERRY_WORKERS_BIND: env['FERRY_WORKERS_ADDR']!,
      });
      api = cluster.api;
      return cluster.api;
    },
    close: async () => {
      for (const w of workers.values()) await w.kill();
      await cluster.api.kill();
      await registry.kill();
      await cluster.db.kill();
      forgetToken(url);
      await cleanup();
    },
  };
  for (const nodeId of options.workers ?? []) await cluster.startWorker(nodeId);
  return cluster;
}
