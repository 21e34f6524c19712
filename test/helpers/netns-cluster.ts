import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoDir } from './fixtures.js';
import { forgetToken, useToken } from './http.js';

const run = promisify(execFile);
const script = path.join(repoDir, 'deploy', 'netns-cluster.sh');

/** Why a cluster of network namespaces cannot be made here, or null when it can. */
export function netnsUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'needs root to make network namespaces (ip netns)';
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
  } catch {
    return '`ip netns` is not available (iproute2)';
  }
  return null;
}

/** One host's daemons: `api` (db + api), `registry`, `w1`…: their names in `deploy/netns-cluster.sh`. */
export type NetnsHost = 'api' | 'registry' | `w${number}`;

export interface NetnsCluster {
  /** The api's HTTP, reached from this process through a relay on the cluster's client host. */
  url: string;
  /** The run's folder: `<host>/data`, `<host>/<role>.env`, `<host>/<daemon>.log`. */
  dir: string;
  /** The node id of worker host `w<i>`. */
  nodeId(host: NetnsHost): string;
  /** `deploy/netns-cluster.sh <args…>` for this run. */
  sh(...args: string[]): Promise<string>;
  /** Every JSON line a host's daemon has logged so far. */
  logLines(host: NetnsHost, daemon: 'api' | 'db' | 'registry' | 'worker'): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

/**
 * A cluster of hosts made of network namespaces by `deploy/netns-cluster.sh up`, as a person
 * runs it (`settings` go into every host's env file with `--set`). Its worker node ids are
 * `nsh-<run>-w<i>`. The api is served inside the namespaces only: the script relays it to a socket
 * file from the cluster's client host, and a loopback port of this process hands each connection
 * to that socket, so the HTTP helpers reach it by URL. `close()` runs the script's `down`.
 */
export async function startNetnsCluster(options: { workers: number; settings?: Record<string, string> }): Promise<NetnsCluster> {
  const runId = `nsh${randomBytes(3).toString('hex')}`;
  const dir = path.join(os.tmpdir(), `ferry-netns-${runId}`);
  const env = { ...process.env, FERRY_NETNS_RUN: runId, FERRY_NETNS_DIR: dir, FERRY_NETNS_NODE_PREFIX: `nsh-${runId}-` };
  const sh = async (...args: string[]): Promise<string> => {
    try {
      return (await run('bash', [script, ...args], { env, maxBuffer: 16 * 1024 * 1024 })).stdout;
    } catch (err) {
      const e = err as Error & { stderr?: string };
      throw new Error(`netns-cluster.sh ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}`);
    }
  };
  const settings = Object.entries(options.settings ?? {}).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  let gateway: { port: number; close(): void } | undefined;
  let url = '';
  const close = async (): Promise<void> => {
    gateway?.close();
    if (url) forgetToken(url);
    await sh('down');
  };
  try {
    await sh('up', '--workers', String(options.workers), ...settings);
    const socket = path.join(dir, 'api-http.sock');
    await sh('forward', socket);
    gateway = await loopbackTo(socket);
    url = `http://127.0.0.1:${gateway.port}`;
    useToken(url, (await readFile(path.join(dir, 'api', 'data', 'admin.key'), 'utf8')).trim());
  } catch (err) {
    await close();
    throw err;
  }
  return {
    url,
    dir,
    nodeId: (host) => `nsh-${runId}-${host}`,
    sh,
    logLines: async (host, daemon) =>
      (await readFile(path.join(dir, host, `${daemon}.log`), 'utf8'))
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    close,
  };
}

/** A loopback port whose every connection is piped to a unix socket; `close()` ends them all. */
async function loopbackTo(socket: string): Promise<{ port: number; close(): void }> {
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(socket);
    open.add(client);
    client.once('close', () => open.delete(client));
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      server.close();
      for (const c of open) c.destroy();
    },
  };
}
