import { createHash, randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import type { Dispatch } from '../../shared/protocol/worker-messages.js';
import { finalOf } from '../helpers/fake-api.js';
import { fixture } from '../helpers/fixtures.js';
import { startWorkerCluster, type WorkerCluster } from '../helpers/worker-cluster.js';

// Every shape of sandbox hands a function the variables of its dispatch: exec runs in a container
// of their own or reused, agents in their own container or a host process, under Docker and the
// process driver (bubblewrap). The calls come from a fake api, as a dispatch with env and secrets.

const docker = new Docker();
type Runtime = Dispatch['runtime'];
const rt = (name: string, image: string, protocol: 'exec' | 'agent', run: string): Runtime => ({ name, image, path: '/ws', dependencies: '', run, protocol });
const pyExec = rt('se-py-exec', 'pythonruntime', 'exec', 'sh main.sh');
const pyAgent = rt('se-py-agent', 'pythonruntime', 'agent', 'main.py');
const nodeAgent = rt('se-node-agent', 'noderuntime', 'agent', 'index.js');

/** Newlines and quotes included: no multipart here, the value travels as it is. */
const SECRET = `-----BEGIN KEY-----\n${randomBytes(24).toString('base64')}\n"it's" $HOME\n-----END KEY-----`;
const expected = { region: 'eu-west', tokenSha256: createHash('sha256').update(SECRET, 'utf8').digest('hex') };
const nodeId = (): string => `se-env-${Math.random().toString(36).slice(2, 8)}`;

async function containersOf(id: string): Promise<number> {
  return (await docker.listContainers({ all: true, filters: { label: [`ferry.node=${id}`] } })).length;
}

let calls = 0;
/** Runs the env fixture as `runtime` with REGION and the secret API_TOKEN (or no variables), and returns what it saw. */
async function seen(c: WorkerCluster, runtime: Runtime, withEnv = true): Promise<{ callId: string; result: unknown }> {
  const bundle = await c.push('env', await fixture('env'));
  const callId = `se-call-${++calls}`;
  const env = withEnv ? { env: { REGION: 'eu-west' }, secrets: { API_TOKEN: SECRET } } : {};
  c.api.dispatch(c.nodeId, c.call({ callId, function: `env-${runtime.name}`, ...bundle, runtime, ...env }));
  const out = finalOf(await c.api.finished(callId, 1, 60_000)) as { status: string; result: string };
  expect(out.status, JSON.stringify(out)).toBe('DONE');
  return { callId, result: JSON.parse(out.result) };
}

/** The worker's log (its miniworkers' included) and stderr hold no secret value. */
function expectNoSecretLogged(c: WorkerCluster): void {
  const text = JSON.stringify(c.worker.logs) + c.worker.stderr();
  for (const line of SECRET.split('\n')) expect(text).not.toContain(line);
}

async function withWorker(env: Record<string, string>, body: (c: WorkerCluster) => Promise<void>): Promise<void> {
  const c = await startWorkerCluster({ FERRY_NODE_ID: nodeId(), ...env });
  try {
    await body(c);
    expectNoSecretLogged(c);
  } finally {
    await c.close();
  }
  if (env['FERRY_DRIVER'] === 'docker') expect(await containersOf(c.nodeId)).toBe(0);
}

describe('a function sees its env and secrets in every sandbox (real worker, Docker and bubblewrap)', () => {
  it('Docker, a container per call: exec in its own container (docker run), python agent', async () => {
    await withWorker({ FERRY_DRIVER: 'docker', FERRY_PRELOAD: 'none', FERRY_MAX_CONTAINERS: '1' }, async (c) => {
      expect((await seen(c, pyExec)).result).toEqual(expected);
      expect((await seen(c, pyAgent)).result).toEqual(expected);
    });
  });

  it('Docker, warm per function: exec in a reused container (exec agent), python and node agents', async () => {
    await withWorker({ FERRY_DRIVER: 'docker', FERRY_PRELOAD: 'function', FERRY_MAX_CONTAINERS: '2' }, async (c) => {
      for (const runtime of [pyExec, pyAgent, nodeAgent]) {
        expect((await seen(c, runtime)).result).toEqual(expected);
        expect((await seen(c, runtime)).result).toEqual(expected); // warm, second call
      }
      // A call of the same runtime without variables sees none: each version has its own.
      expect((await seen(c, pyExec, false)).result).toEqual({ region: null, tokenSha256: null });
    });
  });

  it('Docker, warm per runtime: exec moves into the empty sandbox and gets its variables per run; an agent with variables starts its own', async () => {
    await withWorker({ FERRY_DRIVER: 'docker', FERRY_PRELOAD: 'runtime', FERRY_MAX_CONTAINERS: '3' }, async (c) => {
      // A heartbeat sent after the calls before it: an earlier one may list a sandbox a later call took since.
      const emptyWarm = (name: string) => {
        const since = Date.now();
        return c.api.waitFor(
          (m) => m.at >= since && m.msgType === 'heartbeat' && m.content.warm.some((w) => w.runtime === name && w.fn === null && !w.busy),
          `a heartbeat listing an empty warm ${name} sandbox`,
        );
      };
      const moved = (callId: string): boolean => c.worker.logs.some((l) => l['msg'] === 'function moved into a warm runtime sandbox' && l['callId'] === callId);
      // Calls without variables make the node keep an empty sandbox of each runtime.
      await seen(c, pyExec, false);
      await seen(c, pyAgent, false);
      await emptyWarm(pyExec.name);
      const exec = await seen(c, pyExec);
      expect(exec.result).toEqual(expected);
      expect(moved(exec.callId)).toBe(true);

      await emptyWarm(pyAgent.name);
      const agent = await seen(c, pyAgent);
      expect(agent.result).toEqual(expected);
      expect(moved(agent.callId)).toBe(false);
    });
  });

  it('process driver inside bubblewrap: exec, python and node agents', async () => {
    await withWorker({ FERRY_DRIVER: 'process', FERRY_PRELOAD: 'function', FERRY_MAX_CONTAINERS: '2' }, async (c) => {
      expect(c.worker.logs.some((l) => l['isolation'] === 'processes inside bubblewrap')).toBe(true);
      for (const runtime of [pyExec, pyAgent, nodeAgent]) expect((await seen(c, runtime)).result).toEqual(expected);
      expect((await seen(c, pyExec, false)).result).toEqual({ region: null, tokenSha256: null });
    });
  });
});
