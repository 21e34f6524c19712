import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dispatch } from '../../shared/protocol/worker-messages.js';
import { example, fixture } from '../helpers/fixtures.js';
import { finalOf, type Received } from '../helpers/fake-api.js';
import { waitUntil } from '../helpers/temp.js';
import { containersOf, nodeRuntime as node, pythonRuntime as python, runCall, type CallEnd, type Runtime } from '../helpers/worker-calls.js';
import { startWorkerCluster, type WorkerCluster } from '../helpers/worker-cluster.js';

// Hostile functions (timeouts, memory hogs, output floods, network) are in hostile-functions.test.ts.
const docker = new Docker();
const content = (m: Received): CallEnd => finalOf(m) as unknown as CallEnd;

describe('worker with the Docker driver (real daemons, real containers)', () => {
  let c: WorkerCluster;
  let run = 0;
  const dispatch = (runtime: Runtime, files: Record<string, string>, extra: Partial<Dispatch> = {}): Promise<CallEnd> =>
    runCall(c, files, runtime, { callId: `d-${++run}`, function: `fn${run}`, ...extra });

  beforeAll(async () => {
    c = await startWorkerCluster({ FERRY_DRIVER: 'docker', FERRY_MAX_CONTAINERS: '4', FERRY_PRELOAD: 'function', FERRY_OUTPUT_CAP_BYTES: '65536' });
  });
  afterAll(async () => {
    const nodeId = c?.nodeId;
    await c?.close();
    if (nodeId) expect(await containersOf(nodeId)).toBe(0);
  });

  it('runs the python dice example as an exec call and as an agent call', async () => {
    const dice = await example('python/dice');
    const exec = await dispatch(python('exec', 'python3 test.py', 'pip3 install -r requirements.txt'), dice, { params: { roll: '4d6' } });
    expect(exec.status).toBe('DONE');
    const rolls = JSON.parse(exec.result) as number[];
    expect(rolls).toHaveLength(4);
    expect(rolls.every((r) => Number.isInteger(r) && r >= 1 && r <= 6)).toBe(true);

    const agent = await dispatch(python('agent', 'test.py'), dice, { params: { roll: '3d8' } });
    expect(agent.status).toBe('DONE');
    expect((JSON.parse(agent.result) as number[]).every((r) => r >= 1 && r <= 8)).toBe(true);
  });

  it('runs the node example in both protocols', async () => {
    const hello = await example('node/hello');
    expect(await dispatch(node('exec', 'node index.js'), hello, { params: { name: 'Ada' } })).toMatchObject({ status: 'DONE', result: '{"hello":"Ada"}' });
    expect(await dispatch(node('agent', 'index.js'), hello, { params: { name: 'Bo' } })).toMatchObject({ status: 'DONE', result: '{"hello":"Bo"}' });
  });

  it('runs 4 one-second calls in parallel on one node: their runs overlap', async () => {
    const bundle = await c.push('sleep', await fixture('sleep'));
    const runtime: Runtime = { ...python('exec', 'sh main.sh') };
    for (let i = 0; i < 4; i++) c.api.dispatch(c.nodeId, c.call({ callId: `par-${i}`, function: 'sleeper', ...bundle, runtime }));
    const done = await Promise.all([0, 1, 2, 3].map((i) => c.api.finished(`par-${i}`, 1, 60_000)));
    expect(done.map((d) => content(d).status)).toEqual(['DONE', 'DONE', 'DONE', 'DONE']);
    // Each run's own start and end, as its miniworker measured them: all four were running at once.
    const runs = done.map((d) => {
      const f = finalOf(d) as { startedAt: number; timings: { runMs: number } };
      return { start: f.startedAt, end: f.startedAt + f.timings.runMs };
    });
    expect(Math.max(...runs.map((r) => r.start))).toBeLessThan(Math.min(...runs.map((r) => r.end)));
  });

  it('reports a non-zero exit as ERROR and keeps stderr', async () => {
    const out = await dispatch(python('exec', 'sh main.sh'), await fixture('exit-1'));
    expect(out).toMatchObject({ status: 'ERROR', exitCode: 1, error: { code: 'FUNCTION_ERROR' }, logs: { stdout: 'partial output\n', stderr: 'something went wrong\n' } });
    expect(out.error?.message).toContain('exited with code 1');
  });

  it('reports a raised exception from an agent call with its traceback', async () => {
    const out = await dispatch(python('agent', 'main.py'), await fixture('throws'), { params: { x: 1 } });
    expect(out).toMatchObject({ status: 'ERROR', error: { code: 'FUNCTION_ERROR' }, logs: { stdout: 'about to fail\n' } });
    expect(out.error?.message).toContain('ValueError');
    expect(out.logs.stderr).toContain('Traceback');
  });

  it('fetches a bundle once per node and reuses the warm container', async () => {
    const bundle = await c.push('ok', await fixture('ok'));
    const runtime = python('agent', 'main.py');
    for (const callId of ['cache-1', 'cache-2']) {
      c.api.dispatch(c.nodeId, c.call({ callId, function: 'cached', ...bundle, runtime, params: { callId } }));
      expect(content(await c.api.finished(callId, 1, 60_000))).toMatchObject({ status: 'DONE', result: `{"echo":{"callId":"${callId}"}}` });
    }
    expect(c.worker.logs.filter((l) => l['msg'] === 'bundle cached' && l['sha256'] === bundle.sha256)).toHaveLength(1);
    const second = c.api.received.find((m) => m.msgType === 'finished' && m.content.callId === 'cache-2');
    expect((finalOf(second!) as { timings: { initMs: number } }).timings.initMs).toBeLessThan(50);
  });

  it('fails a call whose bundle is not in the registry with a clear code and keeps serving', async () => {
    c.api.dispatch(c.nodeId, c.call({ callId: 'no-bundle', sha256: 'f'.repeat(64), size: 10, runtime: python('exec', 'python3 main.py') }));
    const failed = await c.api.finished('no-bundle');
    expect(failed.msgType).toBe('failed');
    expect(content(failed).code).toBe('BUNDLE_UNAVAILABLE');
    expect((await dispatch(python('agent', 'main.py'), await fixture('ok'), { params: 1 })).status).toBe('DONE');
  });

  it('fails a call whose bundle bytes do not match their hash, and keeps serving', async () => {
    const b = await c.push('tampered', { ...(await fixture('ok')), 'unique.txt': 'never pushed before' });
    // Corrupt the registry's stored copy: the worker must notice, not run it.
    await writeFile(path.join(c.dir, 'registry', b.sha256.slice(0, 2), b.sha256), 'tampered bytes');
    c.api.dispatch(c.nodeId, c.call({ callId: 'tampered', function: 'tampered', ...b, runtime: python('exec', 'python3 main.py') }));
    const failed = await c.api.finished('tampered');
    expect(failed.msgType).toBe('failed');
    expect(content(failed).code).toBe('BUNDLE_HASH_MISMATCH');
    expect((await dispatch(python('agent', 'main.py'), await fixture('ok'), { params: 3 })).status).toBe('DONE');
  });

  it('reports a miniworker killed mid-call as retryable and leaves no container behind', async () => {
    const bundle = await c.push('slow', await fixture('slow'));
    c.api.dispatch(c.nodeId, c.call({ callId: 'victim', function: 'victim', ...bundle, runtime: python('agent', 'main.py'), params: { seconds: 30 } }));
    await c.api.waitFor((m) => m.msgType === 'started' && m.content.callId === 'victim', 'victim started', 60_000);
    await waitUntil(() => c.worker.logs.some((l) => l['msg'] === 'call started' && l['callId'] === 'victim'), 'the miniworker logs the call');
    const pid = c.worker.logs.find((l) => l['msg'] === 'call started' && l['callId'] === 'victim')!['pid'] as number;
    process.kill(pid, 'SIGKILL');
    const failed = await c.api.finished('victim');
    expect(failed.msgType).toBe('failed');
    expect(content(failed)).toMatchObject({ code: 'MINIWORKER_DIED', retryable: true });
    await waitUntil(
      async () => (await docker.listContainers({ all: true, filters: { label: ['ferry.call=victim'] } })).length === 0,
      'the dead miniworker\'s container is removed',
    );
    expect((await dispatch(python('agent', 'main.py'), await fixture('ok'), { params: 2 })).status).toBe('DONE');
  });
});

describe('worker start-up', () => {
  it('removes containers an earlier run of its node left behind', async () => {
    const nodeId = `orphan-${Math.random().toString(36).slice(2, 8)}`;
    const leftover = await docker.createContainer({ Image: 'pythonruntime', Cmd: ['sleep', '600'], Labels: { 'ferry.node': nodeId } });
    await leftover.start();
    const c = await startWorkerCluster({ FERRY_DRIVER: 'docker', FERRY_NODE_ID: nodeId, FERRY_MAX_CONTAINERS: '1' });
    try {
      expect(await containersOf(nodeId)).toBe(0);
      expect(c.worker.logs.some((l) => l['msg'] === 'removed containers left by an earlier run' && l['removed'] === 1)).toBe(true);
    } finally {
      await c.close();
      await leftover.remove({ force: true }).catch(() => undefined);
    }
  });
});

describe('sandbox choice', () => {
  it('a burst of a fast function waits for its own warm sandbox instead of taking another function\'s', async () => {
    const c = await startWorkerCluster({ FERRY_DRIVER: 'docker', FERRY_PRELOAD: 'function', FERRY_MAX_CONTAINERS: '2' });
    try {
      const runtime = python('agent', 'main.py');
      const fns = { a: await c.push('a', await fixture('ok')), b: await c.push('b', { 'main.py': 'def main(params, ctx=None):\n    return "b"\n' }) };
      let n = 0;
      const send = (fn: 'a' | 'b'): string => {
        const callId = `choice-${fn}-${++n}`;
        c.api.dispatch(c.nodeId, c.call({ callId, function: fn, ...fns[fn], runtime }));
        return callId;
      };
      const finished = async (callId: string): Promise<{ status: string; timings: { initMs: number } }> =>
        finalOf(await c.api.finished(callId, 1, 60_000)) as never;
      // One warm sandbox each; a few calls of a, so the node knows how long a runs.
      for (const fn of ['a', 'b', 'a', 'a'] as const) expect((await finished(send(fn))).status).toBe('DONE');

      const burst = Array.from({ length: 20 }, () => send('a'));
      for (const callId of burst) expect((await finished(callId)).status).toBe('DONE');
      // b's sandbox stayed b's: its next call starts no container.
      expect((await finished(send('b'))).timings.initMs).toBeLessThan(50);
    } finally {
      await c.close();
    }
  });

  it('a call waiting for its function\'s busy sandbox gets a new one when that call hangs', async () => {
    const c = await startWorkerCluster({ FERRY_DRIVER: 'docker', FERRY_PRELOAD: 'function', FERRY_MAX_CONTAINERS: '2' });
    try {
      const runtime = python('agent', 'main.py');
      const slow = await c.push('slow', await fixture('slow'));
      const send = (callId: string, seconds: number): void => {
        c.api.dispatch(c.nodeId, c.call({ callId, function: 'sometimes-slow', ...slow, runtime, params: { seconds } }));
      };
      // Quick calls first: the node learns the function usually takes no time at all.
      for (const id of ['quick-1', 'quick-2', 'quick-3']) {
        send(id, 0);
        expect(content(await c.api.finished(id, 1, 60_000)).status).toBe('DONE');
      }
      send('hangs', 20);
      await c.api.waitFor((m) => m.msgType === 'started' && m.content.callId === 'hangs', 'the long call started');
      send('behind', 0);
      expect(content(await c.api.finished('behind', 1, 60_000)).status).toBe('DONE');
      // It ran beside the hanging call, not after it: that one has not ended yet.
      expect(c.api.received.some((m) => m.msgType === 'finished' && m.content.callId === 'hangs')).toBe(false);
    } finally {
      await c.close();
    }
  });
});

describe('preload policies', () => {
  it('runtime: keeps an empty sandbox of a runtime warm and moves a never-seen function into it', async () => {
    const c = await startWorkerCluster({ FERRY_DRIVER: 'docker', FERRY_PRELOAD: 'runtime', FERRY_MAX_CONTAINERS: '2' });
    try {
      const runtime = python('agent', 'main.py');
      const first = await c.push('ok', await fixture('ok'));
      c.api.dispatch(c.nodeId, c.call({ callId: 'rt-1', function: 'first', ...first, runtime, params: 1 }));
      expect(content(await c.api.finished('rt-1', 1, 60_000)).status).toBe('DONE');
      await c.api.waitFor(
        (m) => m.msgType === 'heartbeat' && m.content.warm.some((w) => w.runtime === 'pythonruntime' && w.fn === null && !w.busy),
        'a heartbeat listing an empty warm pythonruntime sandbox',
      );

      const other = await c.push('ok2', { 'main.py': 'def main(params, ctx=None):\n    return "fresh"\n' });
      c.api.dispatch(c.nodeId, c.call({ callId: 'rt-2', function: 'never-seen', ...other, runtime }));
      expect(content(await c.api.finished('rt-2', 1, 60_000))).toMatchObject({ status: 'DONE', result: 'fresh' });
      expect(c.worker.logs.some((l) => l['msg'] === 'function moved into a warm runtime sandbox' && l['callId'] === 'rt-2')).toBe(true);
    } finally {
      await c.close();
    }
  });

  it('function: an idle warm container is removed after the keep-alive', async () => {
    const c = await startWorkerCluster({ FERRY_DRIVER: 'docker', FERRY_PRELOAD: 'function', FERRY_KEEP_ALIVE_MS: '1000', FERRY_MAX_CONTAINERS: '1' });
    try {
      const b = await c.push('ok', await fixture('ok'));
      c.api.dispatch(c.nodeId, c.call({ callId: 'ka-1', ...b, runtime: python('agent', 'main.py') }));
      expect(content(await c.api.finished('ka-1', 1, 60_000)).status).toBe('DONE');
      expect(await containersOf(c.nodeId)).toBe(1);
      await waitUntil(async () => (await containersOf(c.nodeId)) === 0, 'the idle container is removed after its keep-alive', 15_000);
    } finally {
      await c.close();
    }
  });

  it('none: a fresh container per call, removed after', async () => {
    const c = await startWorkerCluster({ FERRY_DRIVER: 'docker', FERRY_PRELOAD: 'none', FERRY_MAX_CONTAINERS: '1' });
    try {
      const b = await c.push('ok', await fixture('ok'));
      for (const callId of ['none-1', 'none-2']) {
        c.api.dispatch(c.nodeId, c.call({ callId, ...b, runtime: python('exec', 'python3 main.py'), params: callId }));
        expect(content(await c.api.finished(callId, 1, 60_000))).toMatchObject({ status: 'DONE', result: `{"echo": "${callId}"}` });
        await waitUntil(async () => (await containersOf(c.nodeId)) === 0, `the container of ${callId} is removed`);
      }
    } finally {
      await c.close();
    }
  });
});

describe('worker link to the api', () => {
  it('reconnects after the api falls silent and resends a result the api never acknowledged', async () => {
    const c = await startWorkerCluster({ FERRY_DRIVER: 'docker', FERRY_MAX_CONTAINERS: '1' });
    try {
      await c.api.waitFor((m) => m.msgType === 'hello', 'hello');
      const b = await c.push('slow', await fixture('slow'));
      c.api.dispatch(c.nodeId, c.call({ callId: 'during-outage', ...b, runtime: python('agent', 'main.py'), params: { seconds: 2 } }));
      c.api.answering = false; // the api goes silent: heartbeats stop, reports are not heard
      const hellosBefore = c.api.received.filter((m) => m.msgType === 'hello').length;
      await waitUntil(() => c.worker.logs.some((l) => l['msg'] === 'api silent, reconnecting'), 'the worker notices the silence', 15_000);
      // Its new socket says hello at once, heard or not: the api may still be silent when it comes.
      const hellos = (): number => c.api.received.filter((m) => m.msgType === 'hello').length + c.api.unheard.filter((t) => t === 'hello').length;
      await waitUntil(() => hellos() > hellosBefore, 'the worker says hello again', 30_000);
      c.api.answering = true;
      // The result may come by a resend on the old socket or after a new hello, in either order.
      const done = await c.api.finished('during-outage', 1, 30_000);
      expect(content(done).status).toBe('DONE');
    } finally {
      await c.close();
    }
  });
});
