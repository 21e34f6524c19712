import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finalOf, type Received } from '../helpers/fake-api.js';
import { fixture } from '../helpers/fixtures.js';
import { miniworkersOf } from '../helpers/processes.js';
import { waitUntil } from '../helpers/temp.js';
import { containersOf, pythonRuntime, type CallEnd } from '../helpers/worker-calls.js';
import { startWorkerCluster, type WorkerCluster } from '../helpers/worker-cluster.js';

const docker = new Docker();
const agent = pythonRuntime('agent', 'main.py');
const content = (m: Received): CallEnd => ({ ...(finalOf(m) as unknown as CallEnd), msgType: m.msgType });

/**
 * A node's containers are managed by a few miniworker processes, each hosting several sandboxes
 * (FERRY_SANDBOXES_PER_MINIWORKER), not one process per container.
 */
describe('a node of 8 containers, 4 per miniworker (real daemons, real containers)', () => {
  let c: WorkerCluster;
  let slow: { sha256: string; size: number };
  let ok: { sha256: string; size: number };
  let seq = 0;
  const workerPid = (): number => c.worker.proc.pid!;
  /** Dispatches a call of function `fn` (its own warm sandbox, by its name) and returns its id. */
  const start = (fn: string, bundle: { sha256: string; size: number }, params: unknown, timeoutMs = 60_000): string => {
    const callId = `nl-${++seq}`;
    c.api.dispatch(c.nodeId, c.call({ callId, function: fn, ...bundle, runtime: agent, params, timeoutMs, memoryMb: 64 }));
    return callId;
  };
  const end = async (callId: string): Promise<CallEnd> => content(await c.api.finished(callId, 1, 60_000));
  /** The process id of the miniworker that logged the call's start. */
  const hostOf = async (callId: string): Promise<number> => {
    const started = (): Record<string, unknown> | undefined => c.worker.logs.find((l) => l['msg'] === 'call started' && l['callId'] === callId);
    await waitUntil(() => started() !== undefined, `${callId} started in a miniworker`, 60_000);
    return started()!['pid'] as number;
  };
  /** One call of each of `fns`, all DONE: each function then has a warm container. */
  const warmUp = async (fns: string[]): Promise<void> => {
    const ends = await Promise.all(fns.map((fn, i) => end(start(fn, ok, i))));
    expect(ends.map((e) => e.status)).toEqual(fns.map(() => 'DONE'));
  };

  beforeAll(async () => {
    c = await startWorkerCluster({
      FERRY_NODE_ID: `nl-${Math.random().toString(36).slice(2, 8)}`,
      FERRY_DRIVER: 'docker',
      FERRY_PRELOAD: 'function',
      FERRY_MAX_CONTAINERS: '8',
      FERRY_SANDBOXES_PER_MINIWORKER: '4',
    });
    slow = await c.push('slow', await fixture('slow'));
    ok = await c.push('ok', await fixture('ok'));
  });
  afterAll(async () => {
    const nodeId = c?.nodeId;
    await c?.close();
    if (nodeId) expect(await containersOf(nodeId)).toBe(0);
  });

  it('starts with one miniworker process, and holds 8 warm containers with 2', async () => {
    expect(miniworkersOf(workerPid())).toHaveLength(1);
    await warmUp(['warm-0', 'warm-1']);
    expect(miniworkersOf(workerPid())).toHaveLength(1);
    const fns = Array.from({ length: 8 }, (_, i) => `warm-${i}`);
    await warmUp(fns);
    expect(await containersOf(c.nodeId)).toBe(8);
    expect(miniworkersOf(workerPid())).toHaveLength(2);
    // Each function's next call finds its own warm container, wherever it lives.
    const again = await Promise.all(fns.map((fn, i) => end(start(fn, ok, i))));
    expect(again.map((e) => e.status)).toEqual(fns.map(() => 'DONE'));
    expect(await containersOf(c.nodeId)).toBe(8);
  });

  it('a hung call in one sandbox does not hold up calls in the other sandboxes of its miniworker', async () => {
    const hung = start('hung', slow, { seconds: 3600 });
    const host = await hostOf(hung);
    // Calls of seven other functions, one in each other sandbox (three of them in the hung
    // call's miniworker), run side by side with the hung one and all end.
    const quick = Array.from({ length: 35 }, (_, i) => start(`beside-${i % 7}`, ok, i));
    const ends = await Promise.all(quick.map(end));
    expect(ends.map((e) => e.status)).toEqual(quick.map(() => 'DONE'));
    // Some of them ran in the very process that hosts the hung call, which is still running.
    const hosts = await Promise.all(quick.map(hostOf));
    expect(hosts).toContain(host);
    expect(c.api.received.some((m) => (m.msgType === 'finished' || m.msgType === 'failed') && m.content.callId === hung)).toBe(false);
    c.api.cancel(c.nodeId, hung, 1);
    expect((await end(hung)).msgType).toBe('finished');
  });

  it('a killed miniworker fails only its own calls, retryable; its containers go, a new one takes its place and the node keeps serving', async () => {
    // Eight calls that run until their timeout, one in each sandbox: four in each miniworker.
    const fns = Array.from({ length: 8 }, (_, i) => `warm-${i}`);
    const calls = fns.map((fn) => start(fn, slow, { seconds: 3600 }, 20_000));
    const hosts = await Promise.all(calls.map(hostOf));
    const [victim, survivor] = [...new Set(hosts)];
    expect(new Set(hosts).size).toBe(2);
    const victimOwner = (await docker.listContainers({ filters: { label: [`ferry.node=${c.nodeId}`] } }))
      .map((ct) => ct.Labels['ferry.owner'])
      .find((owner) => c.worker.logs.some((l) => l['pid'] === victim && l['miniworker'] === owner));
    expect(victimOwner).toBeDefined();

    process.kill(victim!, 'SIGKILL');
    const ends = await Promise.all(calls.map(end));
    for (const [i, e] of ends.entries()) {
      if (hosts[i] === victim) expect(e).toMatchObject({ msgType: 'failed', code: 'MINIWORKER_DIED', retryable: true });
      else expect(e).toMatchObject({ msgType: 'finished', status: 'TIMEOUT' });
    }
    expect(hosts.filter((h) => h === victim)).toHaveLength(4);

    await waitUntil(
      async () => (await docker.listContainers({ all: true, filters: { label: [`ferry.owner=${victimOwner!}`] } })).length === 0,
      "the dead miniworker's containers are removed",
    );
    await waitUntil(() => miniworkersOf(workerPid()).length === 2, 'a new miniworker takes the dead one\'s place');
    const now = miniworkersOf(workerPid());
    expect(now).toContain(survivor);
    expect(now).not.toContain(victim);

    // All eight sandboxes serve again: a call each, side by side, in both miniworkers.
    const after = fns.map((fn, i) => start(fn, slow, { seconds: 0.5 + i / 100 }));
    const afterEnds = await Promise.all(after.map(end));
    expect(afterEnds.map((e) => e.status)).toEqual(after.map(() => 'DONE'));
    expect(new Set(await Promise.all(after.map(hostOf))).size).toBe(2);
  });
});
