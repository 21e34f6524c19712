import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { readAdminKey } from './cluster.js';
import { FREE_METRICS_PORTS } from './daemon.js';
import { repoDir } from './fixtures.js';
import { forgetToken, useToken } from './http.js';
import { miniworkersOf } from './processes.js';
import { onLogLines } from './log-lines.js';
import { makeTempDir, waitUntil } from './temp.js';
import { freePort } from './free-port.js';

export type DaemonName = 'db' | 'registry' | 'api' | 'worker';

export interface SupervisedCluster {
  url: string;
  dir: string;
  /** Every JSON log line of the supervisor and its daemons, in order. */
  logs: Record<string, unknown>[];
  /** What the supervisor wrote to stderr so far (its start banner). */
  stderr(): string;
  /** The daemon's current process id (the supervisor restarts a daemon that dies). */
  pid(name: DaemonName): number;
  /** Process ids of the worker's miniworkers. */
  miniworkers(): number[];
  close(): Promise<void>;
}


/** The settings of a one-node cluster as `npm start` runs it: free loopback ports, its data in `dir`. */
export async function oneNodeEnv(dir: string): Promise<Record<string, string>> {
  const [http, db, registry, workers] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  return {
    FERRY_DATA_DIR: dir,
    FERRY_HTTP_PORT: String(http),
    FERRY_DB_BIND: `tcp://127.0.0.1:${db}`,
    FERRY_DB_ADDR: `tcp://127.0.0.1:${db}`,
    FERRY_REGISTRY_BIND: `tcp://127.0.0.1:${registry}`,
    FERRY_REGISTRY_ADDR: `tcp://127.0.0.1:${registry}`,
    FERRY_WORKERS_BIND: `tcp://127.0.0.1:${workers}`,
    FERRY_WORKERS_ADDR: `tcp://127.0.0.1:${workers}`,
    ...FREE_METRICS_PORTS,
  };
}

/**
 * A whole one-node cluster as `npm start` runs it: the supervisor process, which starts db,
 * registry, api and worker as its children and restarts any that dies. Ports are free loopback
 * ports; data lives in a temp folder.
 */
export async function startSupervisedCluster(env: Record<string, string> = {}): Promise<SupervisedCluster> {
  const { dir, cleanup } = await makeTempDir('ferry-supervised-');
  const ports = await oneNodeEnv(dir);
  const proc: ChildProcess = spawn(process.execPath, [path.join(repoDir, 'dist', 'services', 'supervisor', 'main.js')], {
    env: { ...process.env, FERRY_LOG_LEVEL: 'info', ...ports, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  let stderr = '';
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const logs: Record<string, unknown>[] = [];
  const pids = new Map<string, number>();
  onLogLines(proc.stdout!, (entry) => {
    logs.push(entry);
    if (entry['msg'] === 'daemon started' && typeof entry['pid'] === 'number') pids.set(String(entry['child']), entry['pid']);
  });
  const url = `http://127.0.0.1:${ports.FERRY_HTTP_PORT}`;
  const close = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    await exited;
    forgetToken(url);
    await cleanup();
  };
  try {
    await waitUntil(() => logs.some((l) => l['msg'] === 'listening' && l['daemon'] === 'worker') || proc.exitCode !== null, 'the worker is listening', 120_000);
    if (proc.exitCode !== null) throw new Error(`the supervisor exited (code ${proc.exitCode})`);
    // The api made it before it listened, and so before the worker started.
    const adminKey = await readAdminKey(dir);
    if (adminKey !== null) useToken(url, adminKey);
  } catch (err) {
    await close();
    throw err;
  }
  return {
    url,
    dir,
    logs,
    stderr: () => stderr,
    pid: (name) => {
      const pid = pids.get(name);
      if (pid === undefined) throw new Error(`no pid known for ${name}`);
      return pid;
    },
    miniworkers: () => miniworkersOf(pids.get('worker') ?? -1),
    close,
  };
}

