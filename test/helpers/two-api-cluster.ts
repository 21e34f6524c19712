import { inject } from 'vitest';
import { makeBundle } from './bundles.js';
import { readAdminKey } from './cluster.js';
import { spawnDaemon, type DaemonProcess } from './daemon.js';
import { http, upload, useToken } from './http.js';
import { freshDatabase } from './postgres.js';
import { makeTempDir } from './temp.js';

/** A runtime nothing runs for real: on fake nodes every call ends DONE with its params as its result. */
export const fakeRuntime = (name: string) => ({ name, image: 'ferry-test/never-built', path: '/ws', run: 'sh main.sh', protocol: 'exec' });

/** Pushes function `name` of `runtime` through the api at `url` (its code never runs on a fake node); answers the push's HTTP status. */
export async function pushFakeFunction(url: string, name: string, runtime: string): Promise<{ status: number; text: string }> {
  const { dir, cleanup } = await makeTempDir();
  try {
    const b = await makeBundle(dir, name, { 'main.sh': 'exit 3\n' });
    return await upload(`${url}/v1/functions/${name}`, b.file, { runtime });
  } finally {
    await cleanup();
  }
}

/** One api host's daemons: its api and the db daemon beside it. */
export interface ApiHost {
  api: DaemonProcess;
  db: DaemonProcess;
  url: string;
}

export interface TwoApiCluster {
  dir: string;
  /** The store every db daemon shares. */
  storeUrl: string;
  hosts: [ApiHost, ApiHost];
  registry: DaemonProcess;
  workers: Map<string, DaemonProcess>;
  /** The index of the api that schedules now (asked of each over HTTP: its /healthz). */
  scheduling(): Promise<number | null>;
  startWorker(nodeId: string, env?: Record<string, string>): Promise<DaemonProcess>;
  close(): Promise<void>;
}

/**
 * Two api hosts (an api and its own db daemon each) on one PostgreSQL store, a registry, and
 * workers connected to both apis: the first api started schedules, the second stands by. All on
 * loopback, one data folder for the keys they share (the api hosts share the api's keys as real
 * hosts would be given a copy).
 */
export async function startTwoApiCluster(
  options: {
    apiEnv?: Record<string, string>;
    workerEnv?: Record<string, string>;
    /** The PostgreSQL server to make the store on; the test run's by default. */
    postgresUrl?: string;
  } = {},
): Promise<TwoApiCluster> {
  const server = options.postgresUrl ?? inject('postgresUrl');
  if (server === null) throw new Error('two api daemons share a PostgreSQL store: this machine has none (apt-get install postgresql)');
  const storeUrl = await freshDatabase(server);
  const { dir, cleanup } = await makeTempDir('ferry-two-apis-');
  const started: DaemonProcess[] = [];
  const spawn = async (name: string, env: Record<string, string>): Promise<DaemonProcess> => {
    const d = await spawnDaemon(name, { FERRY_DATA_DIR: dir, FERRY_STORE: storeUrl, ...env });
    started.push(d);
    return d;
  };
  const workers = new Map<string, DaemonProcess>();
  const close = async (): Promise<void> => {
    for (const w of workers.values()) await w.kill();
    for (const d of started.reverse()) await d.kill();
    await cleanup();
  };
  try {
    const registry = await spawn('registry', { FERRY_REGISTRY_BIND: 'tcp://127.0.0.1:*' });
    const host = async (): Promise<ApiHost> => {
      const db = await spawn('db', { FERRY_DB_BIND: 'tcp://127.0.0.1:*' });
      const api = await spawn('api', {
        FERRY_DB_ADDR: db.endpoint,
        FERRY_REGISTRY_ADDR: registry.endpoint,
        FERRY_HTTP_PORT: '0',
        FERRY_WORKERS_BIND: 'tcp://127.0.0.1:*',
        ...options.apiEnv,
      });
      return { api, db, url: String(api.ready['url']) };
    };
    const hosts: [ApiHost, ApiHost] = [await host(), await host()];
    const adminKey = await readAdminKey(dir);
    if (adminKey !== null) for (const h of hosts) useToken(h.url, adminKey);
    const workersAddr = hosts.map((h) => h.api.endpoint).join(',');
    return {
      dir,
      storeUrl,
      hosts,
      registry,
      workers,
      scheduling: async () => {
        for (const [i, h] of hosts.entries()) {
          if (h.api.proc.exitCode !== null || h.api.proc.signalCode !== null) continue;
          const r = await http<{ scheduling?: boolean }>('GET', `${h.url}/healthz`).catch(() => null);
          if (r?.body.scheduling === true) return i;
        }
        return null;
      },
      startWorker: async (nodeId, env = {}) => {
        const w = await spawnDaemon('worker', {
          FERRY_DATA_DIR: dir,
          FERRY_REGISTRY_ADDR: registry.endpoint,
          FERRY_WORKERS_ADDR: workersAddr,
          FERRY_NODE_ID: nodeId,
          FERRY_DRIVER: 'fake',
          ...options.workerEnv,
          ...env,
        });
        workers.set(nodeId, w);
        return w;
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
