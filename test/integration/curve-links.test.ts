import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { Dealer } from 'zeromq';
import type { Call } from '../../shared/protocol/domain.js';
import { decodeEvent, encodeEvent, encodeFrames } from '../../shared/protocol/envelope.js';
import type { Execution } from '../../shared/protocol/execution.js';
import { apiToWorkerSchemas } from '../../shared/protocol/worker-messages.js';
import { curveClientOptions } from '../../shared/security/curve-client.js';
import { makeBundle } from '../helpers/bundles.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { curveTo } from '../helpers/curve.js';
import type { DaemonProcess } from '../helpers/daemon.js';
import { runFerry } from '../helpers/ferry-cli.js';
import { http, upload } from '../helpers/http.js';
import { rawPeer } from '../helpers/raw-peer.js';
import { stranger } from '../helpers/stranger.js';
import { makeTempDir, waitUntil } from '../helpers/temp.js';

type CallView = Omit<Call, 'executions'> & { currentExecution: Execution | null };

const REFUSED = 'handshake refused: client key not allowed';
const ping = (): Buffer[] => encodeFrames({ id: `cz-${Math.random()}`, msgType: 'ping', content: {} });

/** A runtime no node could run for real; on the fake driver's nodes that does not matter. */
const runtime = { name: 'cz-nowhere', image: 'ferry-test/never-built', path: '/ws', run: 'sh main.sh', protocol: 'exec' };

const refusals = (d: DaemonProcess, publicKey: string): number => d.logs.filter((l) => l['msg'] === REFUSED && l['publicKey'] === publicKey).length;
const refusalLogged = (d: DaemonProcess, publicKey: string): boolean => refusals(d, publicKey) > 0;

async function nodeIds(url: string): Promise<string[]> {
  return (await http<{ nodes: { nodeId: string }[] }>('GET', `${url}/v1/nodes`)).body.nodes.map((n) => n.nodeId);
}

async function deploy(c: Cluster, name: string): Promise<void> {
  const b = await makeBundle(c.dir, name, { 'main.sh': 'echo never runs on a fake node\n' });
  const r = await upload(`${c.url}/v1/functions/${name}`, b.file, { runtime: runtime.name });
  expect(r.status, r.text).toBe(201);
}

const getCall = async (url: string, id: string): Promise<CallView> => (await http<CallView>('GET', `${url}/v1/calls/${id}`)).body;

describe('CurveZMQ on every link', () => {
  let c: Cluster;
  /** The data folder of a worker "on another host": its key is in no `.pub` file of the cluster's folder. */
  let remoteDir: string;
  let remoteCleanup: () => Promise<void>;

  beforeAll(async () => {
    c = await startCluster({ workerEnv: { FERRY_DRIVER: 'fake' } });
    ({ dir: remoteDir, cleanup: remoteCleanup } = await makeTempDir('ferry-cz-remote-'));
    expect((await http('POST', `${c.url}/v1/runtimes`, runtime)).status).toBe(201);
    await deploy(c, 'cz-echo');
  });
  afterAll(async () => {
    await c?.close();
    await remoteCleanup?.();
  });

  /** The remote worker's env: its own folder, the servers' keys given as an operator would. */
  const remoteEnv = (fakeDelayMs: string): Record<string, string> => ({
    FERRY_DATA_DIR: remoteDir,
    FERRY_API_PUBLIC_KEY: c.api.publicKey!,
    FERRY_REGISTRY_PUBLIC_KEY: c.registry.publicKey!,
    FERRY_FAKE_DELAY_MS: fakeDelayMs,
  });
  const ferryNode = (...args: string[]) => runFerry(c.url, ['node', '--data-dir', c.dir, ...args]);

  it('answers no client with an unknown key, nor one without CurveZMQ, on the db, the registry or the worker socket; allowed clients get answers', async () => {
    const servers = [
      { daemon: c.db, endpoint: c.db.endpoint },
      { daemon: c.registry, endpoint: c.registry.endpoint },
      { daemon: c.api, endpoint: c.env['FERRY_WORKERS_ADDR']! },
    ];
    for (const { daemon, endpoint } of servers) {
      const unknown = stranger(endpoint, daemon.publicKey);
      expect(await unknown.outcome).toBe('handshake:error:auth');
      await waitUntil(() => refusalLogged(daemon, unknown.publicKey), `${endpoint} logs the refused key`);
      expect(daemon.logs.find((l) => l['msg'] === REFUSED && l['publicKey'] === unknown.publicKey)).toMatchObject({ level: 40, refused: expect.any(Number) });
      expect(await stranger(endpoint, null).outcome).toMatch(/^handshake:error:/);
    }

    // Counted beside the daemons' other refusals.
    const { refused } = (await http<{ refused: Record<string, Record<string, number> | null> }>('GET', `${c.url}/healthz`)).body;
    for (const d of ['db', 'registry', 'api']) expect(refused[d]?.['NOT_ALLOWED']).toBeGreaterThanOrEqual(1);

    for (const endpoint of [c.db.endpoint, c.registry.endpoint]) {
      const allowed = rawPeer(endpoint);
      expect(await allowed.ask(ping())).toBe('ok');
      allowed.close();
    }
    // The worker socket answers an allowed peer: a heartbeat from a node it does not know is asked to say hello.
    const peer = new Dealer({ linger: 0, routingId: 'cz-unnamed', ...curveClientOptions(curveTo(c.env['FERRY_WORKERS_ADDR']!)) });
    onTestFinished(() => peer.close());
    peer.connect(c.env['FERRY_WORKERS_ADDR']!);
    await peer.send(encodeEvent('heartbeat', { running: 0, warm: [] }));
    expect(decodeEvent(await peer.receive(), apiToWorkerSchemas).msgType).toBe('reconnect');
  });

  it('refuses a node whose hello names an allowed key it does not hold', async () => {
    const peer = new Dealer({ linger: 0, routingId: 'cz-impostor', ...curveClientOptions(curveTo(c.env['FERRY_WORKERS_ADDR']!)) });
    onTestFinished(() => peer.close());
    peer.connect(c.env['FERRY_WORKERS_ADDR']!);
    // The db's key is allowed (its .pub is in the folder), but this peer cannot make the db's proof.
    const hello = {
      nodeId: 'cz-impostor',
      incarnation: 'cz-1',
      driver: 'fake',
      capacity: { maxContainers: 1, memoryMb: 256 },
      images: [],
      warm: [],
      running: [],
      publicKey: c.db.publicKey,
      keyProof: 'not-a-proof',
    };
    await peer.send(encodeEvent('hello', hello));
    expect(decodeEvent(await peer.receive(), apiToWorkerSchemas)).toMatchObject({ msgType: 'refused', content: { code: 'NOT_ALLOWED' } });
    // The reply can reach this peer before the api's log line reaches the pipe this test reads.
    const refusedLine = (): Record<string, unknown> | undefined => c.api.logs.find((l) => l['msg'] === 'node refused' && l['nodeId'] === 'cz-impostor');
    await waitUntil(() => refusedLine() !== undefined, "the api's log line of the refused node");
    expect(refusedLine()).toMatchObject({ why: 'its hello does not prove it holds the key it names' });
    expect(await nodeIds(c.url)).not.toContain('cz-impostor');
  });

  it('keeps out a worker whose key is not allowed; `ferry node allow` lets it join, and it runs calls', async () => {
    const w = await c.startWorker('cz-remote', remoteEnv('0'));
    const key = w.publicKey!;
    await waitUntil(() => refusalLogged(c.api, key), "the api refuses the remote worker's key");
    await waitUntil(() => w.logs.some((l) => l['level'] === 50 && String(l['msg']).startsWith("the server refused this daemon's key")), 'the worker says its key was refused');
    expect(await nodeIds(c.url)).not.toContain('cz-remote');

    const allowed = await ferryNode('allow', '--name', 'cz-remote', '--', key);
    expect(allowed).toMatchObject({ code: 0, stdout: `allowed ${key} (cz-remote)\n` });
    await waitUntil(async () => (await nodeIds(c.url)).includes('cz-remote'), 'the remote worker joins', 60_000);
    const r = await http<CallView>('POST', `${c.url}/v1/functions/cz-echo/invoke?wait=true`, { n: 1 });
    expect(r.body).toMatchObject({ status: 'DONE', result: '{"n":1}', currentExecution: { nodeId: 'cz-remote' } });
    expect((await ferryNode('allowed', '--json')).stdout).toContain(key);
  });

  it('drops a joined worker whose key is denied: its running call ends on another node; allowed again, it rejoins', async () => {
    const joins = (): number => c.api.logs.filter((l) => l['msg'] === 'node joined' && l['nodeId'] === 'cz-remote').length;
    const joinedBefore = joins();
    // The same node, started again with calls that run until its key is gone.
    await c.workers.get('cz-remote')!.kill();
    const remote = await c.startWorker('cz-remote', remoteEnv('50000'));
    await waitUntil(() => joins() > joinedBefore, 'the restarted remote worker joins');
    const id = (await http<{ id: string }>('POST', `${c.url}/v1/functions/cz-echo/invoke`, { n: 2 })).body.id;
    await waitUntil(async () => (await getCall(c.url, id)).status === 'RUNNING', 'the call runs on the remote worker');
    expect(await getCall(c.url, id)).toMatchObject({ workerId: 'cz-remote' });
    await c.startWorker('cz-local');
    await waitUntil(async () => (await nodeIds(c.url)).includes('cz-local'), 'a second node joins');

    const refusedBefore = { api: refusals(c.api, remote.publicKey!), registry: refusals(c.registry, remote.publicKey!) };
    expect(await ferryNode('deny', 'cz-remote')).toMatchObject({ code: 0, stdout: `denied ${remote.publicKey} (cz-remote)\n` });
    await waitUntil(async () => (await getCall(c.url, id)).status === 'DONE', 'the call ends on the other node', 30_000);
    expect(await getCall(c.url, id)).toMatchObject({ result: '{"n":2}', attempt: 2, currentExecution: { nodeId: 'cz-local' } });
    const first = (await http<{ executions: Execution[] }>('GET', `${c.url}/v1/calls/${id}/executions`)).body.executions[0];
    expect(first).toMatchObject({
      nodeId: 'cz-remote',
      failureReason: { code: 'WORKER_LOST', message: 'node cz-remote refused: its key was removed from the allowlist' },
    });
    expect(c.api.logs.find((l) => l['msg'] === 'node key removed from the allowlist: node dropped')).toMatchObject({ nodeId: 'cz-remote', publicKey: remote.publicKey });
    expect(await nodeIds(c.url)).not.toContain('cz-remote');
    await waitUntil(() => remote.logs.some((l) => String(l['msg']).startsWith('the api refuses this node')), 'the worker hears it is refused');
    await waitUntil(() => refusals(c.api, remote.publicKey!) > refusedBefore.api, 'its next handshake is refused');
    // The registry had let the key in (the node fetched a bundle): it ends every connection, and
    // the node's own is refused when it shakes hands again. The db never saw that key.
    const reopened = 'a connected client key left the allowlist: every connection closed, clients shake hands again';
    await waitUntil(() => c.registry.logs.some((l) => l['msg'] === reopened), 'the registry closes its connections');
    await waitUntil(() => refusals(c.registry, remote.publicKey!) > refusedBefore.registry, 'the registry refuses the node again');
    expect(c.db.logs.some((l) => l['msg'] === reopened)).toBe(false);

    await ferryNode('allow', '--name', 'cz-remote', '--', remote.publicKey!);
    await waitUntil(async () => (await nodeIds(c.url)).includes('cz-remote'), 'the remote worker rejoins', 60_000);
  });

  it('keeps each key pair in a file of mode 0600 in a folder of mode 0700, the same across a restart', async () => {
    const dir = path.join(c.dir, 'curve');
    const mode = async (file: string): Promise<number> => (await stat(path.resolve(dir, file))).mode & 0o777;
    expect(await mode('.')).toBe(0o700);
    for (const [name, daemon] of [['db', c.db], ['registry', c.registry], ['api', c.api], ['worker-cz-local', c.workers.get('cz-local')!]] as const) {
      expect(await mode(`${name}.key`)).toBe(0o600);
      expect(await mode(`${name}.pub`)).toBe(0o644);
      expect((await readFile(path.join(dir, `${name}.pub`), 'utf8')).trim()).toBe(daemon.publicKey);
    }
    expect(await mode(path.join(remoteDir, 'curve', 'worker-cz-remote.key'))).toBe(0o600);
    const before = c.db.publicKey;
    await c.restart('db');
    expect(c.db.publicKey).toBe(before);
  });
});

describe('FERRY_CURVE=off', () => {
  it('warns in every daemon log, makes no keys, and the cluster runs calls over plain ZeroMQ', async () => {
    const c = await startCluster({ env: { FERRY_CURVE: 'off' }, workers: [], workerEnv: { FERRY_DRIVER: 'fake' } });
    onTestFinished(() => c.close());
    await c.startWorker('cz-off');
    for (const d of [c.db, c.registry, c.api, c.workers.get('cz-off')!]) {
      expect(d.logs.find((l) => l['curve'] === 'off')).toMatchObject({ level: 40, msg: expect.stringContaining('NOT authenticated and NOT encrypted') });
      expect(d.publicKey).toBeNull();
    }
    expect(existsSync(path.join(c.dir, 'curve'))).toBe(false);
    const plain = rawPeer(c.db.endpoint);
    expect(await plain.ask(ping())).toBe('ok');
    plain.close();

    expect((await http('POST', `${c.url}/v1/runtimes`, runtime)).status).toBe(201);
    await deploy(c, 'cz-plain');
    await waitUntil(async () => (await nodeIds(c.url)).includes('cz-off'), 'the node joins');
    const r = await http<CallView>('POST', `${c.url}/v1/functions/cz-plain/invoke?wait=true`, { n: 3 });
    expect(r.body).toMatchObject({ status: 'DONE', result: '{"n":3}', currentExecution: { nodeId: 'cz-off' } });
  });
});
