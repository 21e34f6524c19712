import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { CallView } from '../../shared/protocol/call-view.js';
import type { Execution } from '../../shared/protocol/execution.js';
import type { NodeView } from '../../shared/protocol/node-view.js';
import { makeBundle } from './bundles.js';
import { readAdminKey } from './cluster.js';
import { fixture, repoDir } from './fixtures.js';
import { forgetToken, http, upload, useToken } from './http.js';

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
 * runs it (`settings` go into every host's env file with `--set`; `postgres`: the db keeps the
 * state in a PostgreSQL server on the api host, fsync off as in every test). Its worker node ids are
 * `nsh-<run>-w<i>`. The api is served inside the namespaces only: the script relays it to a socket
 * file from the cluster's client host, and a loopback port of this process hands each connection
 * to that socket, so the HTTP helpers reach it by URL. `close()` runs the script's `down`.
 */
export async function startNetnsCluster(options: { workers: number; settings?: Record<string, string>; postgres?: boolean }): Promise<NetnsCluster> {
  const runId = `nsh${randomBytes(3).toString('hex')}`;
  const dir = path.join(os.tmpdir(), `ferry-netns-${runId}`);
  const env = { ...process.env, FERRY_NETNS_RUN: runId, FERRY_NETNS_DIR: dir, FERRY_NETNS_NODE_PREFIX: `nsh-${runId}-`, PG_FAST: '1' };
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
    await sh('up', '--workers', String(options.workers), ...(options.postgres ? ['--postgres'] : []), ...settings);
    const socket = path.join(dir, 'api-http.sock');
    await sh('forward', socket);
    gateway = await loopbackTo(socket);
    url = `http://127.0.0.1:${gateway.port}`;
    const adminKey = await readAdminKey(path.join(dir, 'api', 'data'));
    if (adminKey === null) throw new Error('the api host holds no admin key');
    useToken(url, adminKey);
    const logLines = async (host: NetnsHost, daemon: string): Promise<Record<string, unknown>[]> =>
      (await readFile(path.join(dir, host, `${daemon}.log`), 'utf8'))
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    return { url, dir, nodeId: (host) => `nsh-${runId}-${host}`, sh, logLines, close };
  } catch (err) {
    await close();
    throw err;
  }
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

/** The sleep-bound function both the multi-host test and bench call: `sleeper`, on a python agent runtime. */
export const SLEEPER = 'sleeper';

/** Registers the python agent runtime and pushes {@link SLEEPER} through the api host; the bundle's sha256. */
export async function deploySleeper(c: NetnsCluster): Promise<string> {
  const runtime = { name: 'py-agent', image: 'pythonruntime', path: '/ws', run: 'main.py', protocol: 'agent' };
  const created = await http('POST', `${c.url}/v1/runtimes`, runtime);
  if (created.status !== 201) throw new Error(`runtime not registered: ${created.status} ${created.text}`);
  const bundle = await makeBundle(c.dir, SLEEPER, await fixture('sleep-attempt'));
  const pushed = await upload(`${c.url}/v1/functions/${SLEEPER}`, bundle.file, { runtime: runtime.name });
  if (pushed.status !== 201) throw new Error(`function not pushed: ${pushed.status} ${pushed.text}`);
  return bundle.sha256;
}

/** The node ids `GET /v1/nodes` lists. */
export async function listedNodes(c: NetnsCluster): Promise<string[]> {
  return (await http<{ nodes: NodeView[] }>('GET', `${c.url}/v1/nodes`)).body.nodes.map((n) => n.nodeId);
}

/** A call as `GET /v1/calls/:id` shows it, with every one of its executions. */
export type CallWithExecutions = CallView & { executions: Execution[] };

/** The calls of `ids` that lost an execution on `nodeId` (its node was lost), with their executions. */
export async function movedOff(c: NetnsCluster, ids: string[], nodeId: string): Promise<CallWithExecutions[]> {
  const calls = await Promise.all(
    ids.map(async (id) => ({
      ...(await http<CallView>('GET', `${c.url}/v1/calls/${id}`)).body,
      executions: (await http<{ executions: Execution[] }>('GET', `${c.url}/v1/calls/${id}/executions`)).body.executions,
    })),
  );
  return calls.filter((x) => x.executions.some((e) => e.nodeId === nodeId && e.state === 'LOST'));
}
