import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Call } from '../../shared/protocol/domain.js';
import type { Execution } from '../../shared/protocol/execution.js';
import { makeBundle } from '../helpers/bundles.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { fixture } from '../helpers/fixtures.js';
import { http, upload } from '../helpers/http.js';
import { readEvents, type SseEvent } from '../helpers/sse.js';
import { waitUntil } from '../helpers/temp.js';

type CallView = Omit<Call, 'executions'> & { currentExecution: Execution | null };

const agentRuntime = { name: 'py-agent', image: 'pythonruntime', path: '/ws', run: 'main.py', protocol: 'agent' };
const shellRuntime = { name: 'sh-exec', image: 'pythonruntime', path: '/ws', run: 'sh main.sh', protocol: 'exec' };

async function deploy(c: Cluster, name: string, runtime: string, files: Record<string, string>): Promise<void> {
  const b = await makeBundle(c.dir, name, files);
  expect((await upload(`${c.url}/v1/functions/${name}`, b.file, { runtime })).status).toBe(201);
}

async function invoke(c: Cluster, fn: string, params: unknown): Promise<string> {
  const r = await http<{ id: string }>('POST', `${c.url}/v1/functions/${fn}/invoke`, params);
  expect(r.status).toBe(202);
  return r.body.id;
}

const getCall = async (c: Cluster, id: string): Promise<CallView> => (await http<CallView>('GET', `${c.url}/v1/calls/${id}`)).body;

async function ended(c: Cluster, id: string, timeoutMs = 60_000): Promise<CallView> {
  let call!: CallView;
  await waitUntil(
    async () => {
      call = await getCall(c, id);
      return !['PENDING', 'RUNNING'].includes(call.status);
    },
    `call ${id} has ended`,
    timeoutMs,
  );
  return call;
}

describe('a call from inside: progress, metrics, logs, live events', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster({ workers: ['lc-1'] });
    for (const rt of [agentRuntime, shellRuntime]) expect((await http('POST', `${c.url}/v1/runtimes`, rt)).status).toBe(201);
    await deploy(c, 'progress', 'py-agent', await fixture('progress'));
    await deploy(c, 'reports', 'sh-exec', await fixture('exec-reports'));
  });
  afterAll(async () => {
    await c?.close();
  });

  it('keeps the last of 30 progress reports, the metrics and every ctx.log line; streams them live', async () => {
    const id = await invoke(c, 'progress', { seconds: 3 });
    const live: SseEvent[] = [];
    const stream = await readEvents(`${c.url}/v1/calls/${id}/events`, (e) => live.push(e));
    expect(stream.status).toBe(200);

    const call = await getCall(c, id);
    expect(call.status).toBe('DONE');
    // Its run as its node timed it: started, then ended about three seconds later.
    expect(call.finishedAt! - call.startedAt!).toBeGreaterThanOrEqual(2_900);
    expect(call.progress).toEqual({ current: 30, total: 30 });
    expect(call.metrics).toEqual({ step: 30, loss: 1 / 30 });
    expect(call.currentExecution).toMatchObject({ attempt: 1, state: 'DONE', nodeId: 'lc-1', progress: { current: 30, total: 30 }, metrics: { step: 30 } });
    const logs = (await http<{ log: string }>('GET', `${c.url}/v1/calls/${id}/logs`)).body;
    expect(logs.log.trim().split('\n')).toEqual(Array.from({ length: 30 }, (_, i) => `step ${i + 1}`));

    // The stream: the call first, progress and log lines while it ran, the end last.
    expect(live[0]?.event).toBe('call');
    expect(live.at(-1)).toMatchObject({ event: 'end', data: { id, status: 'DONE' } });
    const progress = live.filter((e) => e.event === 'progress').map((e) => (e.data as { progress?: unknown }).progress).filter(Boolean);
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.at(-1)).toEqual({ current: 30, total: 30 });
    const lines = live.filter((e) => e.event === 'log').map((e) => (e.data as { line: string }).line);
    expect(lines.at(-1)).toBe('step 30');
    expect(live.filter((e) => e.event === 'call').map((e) => (e.data as CallView).status)).toContain('RUNNING');
  });

  it('a client that connects after the end gets the call and the end at once', async () => {
    const id = await invoke(c, 'reports', {});
    await ended(c, id);
    const { events } = await readEvents(`${c.url}/v1/calls/${id}/events`);
    expect(events.map((e) => e.event)).toEqual(['call', 'end']);
    expect(events[1]?.data).toMatchObject({ id, status: 'DONE' });
  });

  it('an unknown call has no event stream: 404 with a JSON error', async () => {
    const r = await http<{ error: { code: string } }>('GET', `${c.url}/v1/calls/no-such-call/events`);
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('NOT_FOUND');
  });

  it('an exec function reports with `##ferry` lines on stderr, which leave its stderr', async () => {
    const id = await invoke(c, 'reports', {});
    const call = await ended(c, id);
    expect(call).toMatchObject({ status: 'DONE', result: '{"ok": true}', exitCode: 0, progress: { current: 3, total: 4 }, metrics: { rows: 120 } });
    const logs = (await http<{ stderr: string; log: string }>('GET', `${c.url}/v1/calls/${id}/logs`)).body;
    expect(logs.log).toBe('halfway there\n');
    // A report line that does not parse stays in stderr, where its author can see it.
    expect(logs.stderr).toBe('a plain stderr line\n##ferry progress not-a-number\n');
  });

  it('cancel: a running call ends KILLED, a waiting one CANCELLED; an ended one answers 409', async () => {
    const running = await invoke(c, 'progress', { seconds: 30 });
    await waitUntil(async () => (await getCall(c, running)).status === 'RUNNING', 'the call runs');
    const killed = await http<CallView>('POST', `${c.url}/v1/calls/${running}/cancel`);
    expect(killed.status).toBe(200);
    expect(killed.body).toMatchObject({ status: 'KILLED', currentExecution: { state: 'KILLED', nodeId: 'lc-1' } });
    expect((await http('POST', `${c.url}/v1/calls/${running}/cancel`)).status).toBe(409);
    // The node was told: its container is free again and the next call runs.
    const next = await invoke(c, 'reports', {});
    expect((await ended(c, next)).status).toBe('DONE');
    expect((await getCall(c, running)).status).toBe('KILLED');
  });
});

describe('executions', () => {
  it('a call whose first node was killed shows two executions on different nodes', async () => {
    const c = await startCluster({ workers: ['lc-a', 'lc-b'], workerEnv: { FERRY_MAX_CONTAINERS: '1' } });
    try {
      expect((await http('POST', `${c.url}/v1/runtimes`, agentRuntime)).status).toBe(201);
      await deploy(c, 'slow', 'py-agent', await fixture('slow'));
      const ids = [await invoke(c, 'slow', { seconds: 2 }), await invoke(c, 'slow', { seconds: 2 })];
      let onA = '';
      await waitUntil(
        async () => {
          for (const id of ids) if ((await getCall(c, id)).workerId === 'lc-a') onA = id;
          return onA !== '';
        },
        'a call runs on lc-a',
        60_000,
      );
      await c.workers.get('lc-a')!.kill('SIGKILL');
      const call = await ended(c, onA);
      expect(call).toMatchObject({ status: 'DONE', attempt: 2, workerId: 'lc-b' });
      const { executions } = (await http<{ executions: Execution[] }>('GET', `${c.url}/v1/calls/${onA}/executions`)).body;
      expect(executions.map((e) => [e.attempt, e.nodeId, e.state])).toEqual([
        [1, 'lc-a', 'LOST'],
        [2, 'lc-b', 'DONE'],
      ]);
      expect(executions[0]).toMatchObject({ executionId: `${onA}.1`, failureReason: { code: 'WORKER_LOST' } });
      expect(executions[0]!.finishedAt).not.toBeNull();
      expect(call.currentExecution).toMatchObject({ executionId: `${onA}.2`, state: 'DONE' });
    } finally {
      await c.close();
    }
  });

  it('a worker killed and restarted at once: what the old process held is requeued on hello, not after the liveness window', async () => {
    const c = await startCluster({ workers: ['lc-r'], workerEnv: { FERRY_MAX_CONTAINERS: '2' } });
    try {
      expect((await http('POST', `${c.url}/v1/runtimes`, agentRuntime)).status).toBe(201);
      await deploy(c, 'slow', 'py-agent', await fixture('slow'));
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) ids.push(await invoke(c, 'slow', { seconds: 1 }));
      await waitUntil(async () => (await getCall(c, ids[0]!)).status === 'RUNNING', 'the first call runs', 60_000);
      await c.workers.get('lc-r')!.kill('SIGKILL');
      await c.startWorker('lc-r');
      const calls = await Promise.all(ids.map((id) => ended(c, id)));
      expect(calls.map((x) => x.status)).toEqual(Array(6).fill('DONE'));
      const moved = calls.filter((x) => x.attempt > 1);
      expect(moved.length).toBeGreaterThan(0);
      for (const x of moved) {
        const { executions } = (await http<{ executions: Execution[] }>('GET', `${c.url}/v1/calls/${x.id}/executions`)).body;
        // Requeued because the node's new process did not report it, not because the node fell silent.
        expect(executions[0]).toMatchObject({ state: 'LOST', failureReason: { message: 'node lc-r restarted' } });
      }
      expect(c.api.logs.some((l) => l['msg'] === 'node lost')).toBe(false);
    } finally {
      await c.close();
    }
  });
});

describe('a cancel that lands while the call\'s container is being made', () => {
  it('removes the container once made and never starts the call in it', async () => {
    const docker = new Docker();
    // Preload none: every call gets a container of its own, made after the call reaches its node.
    const c = await startCluster({ workers: ['lc-mk'], workerEnv: { FERRY_PRELOAD: 'none', FERRY_MAX_CONTAINERS: '1' } });
    try {
      expect((await http('POST', `${c.url}/v1/runtimes`, agentRuntime)).status).toBe(201);
      await deploy(c, 'slow', 'py-agent', await fixture('slow'));
      // The engine's start of the call's container: the agent inside is not ready yet, so the
      // miniworker is still making the sandbox when the cancel arrives.
      const events = (await docker.getEvents({ filters: { type: ['container'], event: ['start'], label: ['ferry.node=lc-mk'] } })) as NodeJS.ReadableStream & { destroy(): void };
      const started = new Promise<string>((resolve) =>
        events.on('data', (chunk: Buffer) => resolve(String((JSON.parse(chunk.toString()) as { Actor: { Attributes: Record<string, string> } }).Actor.Attributes['ferry.call']))),
      );
      const id = await invoke(c, 'slow', { seconds: 600 });
      expect(await started).toBe(id);
      events.destroy();
      const cancelled = await http<CallView>('POST', `${c.url}/v1/calls/${id}/cancel`);
      expect(cancelled.status, cancelled.text).toBe(200);
      expect(['CANCELLED', 'KILLED']).toContain(cancelled.body.status);
      const ofCall = async (): Promise<number> => (await docker.listContainers({ all: true, filters: { label: [`ferry.call=${id}`] } })).length;
      await waitUntil(async () => (await ofCall()) === 0, "the cancelled call's container is gone");
      // The node's one slot is free again: the next call runs.
      const next = await invoke(c, 'slow', { seconds: 0 });
      expect((await ended(c, next)).status).toBe('DONE');
    } finally {
      await c.close();
    }
  });
});
