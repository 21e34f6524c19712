import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/fixtures.js';
import { waitUntil } from '../helpers/temp.js';
import { containersOf, nodeRuntime, pythonRuntime, resultOf, runCall, type Runtime } from '../helpers/worker-calls.js';
import { startWorkerCluster, type WorkerCluster } from '../helpers/worker-cluster.js';

/** What test/fixtures/functions/sandbox-report finds inside its sandbox. */
interface Report {
  uid: number;
  gid: number;
  writeRoot: string;
  writeCode: string;
  writeTmp: string;
  fillTmp: string;
  cpus: number | null;
}

const nodeId = (): string => `sb-${Math.random().toString(36).slice(2, 8)}`;
/** /tmp is 8 MiB on these nodes; the report writes 16 to fill it. */
const TMP_MB = '8';
const fillTmp = { fillTmpMb: 16 };
/** Unprivileged, read-only everywhere but a /tmp that fills up, a quarter CPU for the default 256 MB. */
const confined = { uid: 65534, gid: 65534, writeRoot: 'EROFS', writeCode: 'EROFS', writeTmp: 'ok', fillTmp: 'ENOSPC', cpus: 0.25 };

async function closeLeavingNothing(c: WorkerCluster | undefined): Promise<void> {
  const id = c?.nodeId;
  await c?.close();
  if (id) expect(await containersOf(id)).toBe(0);
}

describe('Docker sandboxes: user, filesystem and CPU (warm containers)', () => {
  let c: WorkerCluster;
  let n = 0;
  const report = async (runtime: Runtime, call: { memoryMb?: number; function?: string } = {}): Promise<Report> => {
    const end = await runCall(c, await fixture('sandbox-report'), runtime, { callId: `sb-${++n}`, params: fillTmp, ...call });
    expect(end).toMatchObject({ msgType: 'finished', status: 'DONE' });
    return resultOf<Report>(end);
  };
  beforeAll(async () => {
    c = await startWorkerCluster({ FERRY_DRIVER: 'docker', FERRY_NODE_ID: nodeId(), FERRY_PRELOAD: 'function', FERRY_MAX_CONTAINERS: '2', FERRY_TMP_MB: TMP_MB });
  });
  afterAll(() => closeLeavingNothing(c));

  it('runs exec and agent calls as an unprivileged user on a read-only root, writing only to a size-limited /tmp', async () => {
    expect(await report(pythonRuntime('exec', 'python3 main.py'), { function: 'exec-bound-code' })).toEqual(confined);
    // With a dependencies step the code is baked into the function's image, not bound in.
    expect(await report(pythonRuntime('exec', 'python3 main.py', 'true'), { function: 'exec-image-code' })).toEqual(confined);
    expect(await report(pythonRuntime('agent', 'main.py'), { function: 'python-agent' })).toEqual(confined);
    expect(await report(nodeRuntime('agent', 'index.js'), { function: 'node-agent' })).toEqual(confined);
  });

  it('gives a call CPU in proportion to its memory, up to the host\'s cores, also in a warm container made for another memory', async () => {
    const runtime = pythonRuntime('agent', 'main.py');
    expect((await report(runtime, { memoryMb: 128 })).cpus).toBe(0.125);
    expect((await report(runtime, { memoryMb: 1024 })).cpus).toBe(1);
    expect((await report(runtime, { memoryMb: 512 })).cpus).toBe(0.5);
  });

  it('keeps a warm container that served a plain call (it is not taken for one a call left unsound)', async () => {
    const docker = new Docker();
    const containerOf = async (fn: string): Promise<string[]> =>
      (await docker.listContainers({ filters: { label: [`ferry.node=${c.nodeId}`, `ferry.fn=${fn}@1`] } })).map((x) => x.Id);
    // A dependencies step, so the function's image is baked before its first call (else the
    // node moves later calls from the runtime image to the baked one).
    for (const [fn, runtime] of [['kept-exec', pythonRuntime('exec', 'python3 main.py', 'true')], ['kept-agent', pythonRuntime('agent', 'main.py', 'true')]] as const) {
      await report(runtime, { function: fn });
      const first = await containerOf(fn);
      expect(first).toHaveLength(1);
      await report(runtime, { function: fn });
      expect(await containerOf(fn)).toContain(first[0]);
    }
  });

  it('holds a busy loop to its share: CPU time over wall time stays near a quarter for 256 MB', async () => {
    const end = await runCall(c, await fixture('busy'), pythonRuntime('agent', 'main.py'), { callId: 'sb-busy', params: { seconds: 2 } });
    const { ratio } = resultOf<{ ratio: number }>(end);
    expect(ratio).toBeLessThan(0.25 * 1.15);
    expect(ratio).toBeGreaterThan(0.25 * 0.4);
  });
});

describe('Docker sandboxes: a function moving into a warm runtime container', () => {
  for (const runtime of [pythonRuntime('agent', 'main.py'), pythonRuntime('exec', 'python3 main.py')]) {
    it(`${runtime.protocol}: gets its own memory's CPU share, read-only code and the same confinement`, async () => {
      const c = await startWorkerCluster({ FERRY_DRIVER: 'docker', FERRY_NODE_ID: nodeId(), FERRY_PRELOAD: 'runtime', FERRY_MAX_CONTAINERS: '2', FERRY_TMP_MB: TMP_MB });
      try {
        expect((await runCall(c, await fixture('ok'), runtime, { callId: 'first', function: 'first' })).status).toBe('DONE');
        await c.api.waitFor(
          (m) => m.msgType === 'heartbeat' && m.content.warm.some((w) => w.runtime === 'pythonruntime' && w.fn === null && !w.busy),
          'a heartbeat listing an empty warm pythonruntime sandbox',
        );
        const end = await runCall(c, await fixture('sandbox-report'), runtime, { callId: 'moved-in', function: 'report', memoryMb: 512, params: fillTmp });
        expect(resultOf<Report>(end)).toEqual({ ...confined, cpus: 0.5 });
        expect(c.worker.logs.some((l) => l['msg'] === 'function moved into a warm runtime sandbox' && l['callId'] === 'moved-in')).toBe(true);
      } finally {
        await closeLeavingNothing(c);
      }
    });
  }
});

describe('Docker sandboxes: single-use containers (preload none)', () => {
  it('confine an exec call the same way', async () => {
    const c = await startWorkerCluster({ FERRY_DRIVER: 'docker', FERRY_NODE_ID: nodeId(), FERRY_PRELOAD: 'none', FERRY_MAX_CONTAINERS: '1', FERRY_TMP_MB: TMP_MB });
    try {
      const end = await runCall(c, await fixture('sandbox-report'), pythonRuntime('exec', 'python3 main.py'), { callId: 'once', params: fillTmp });
      expect(resultOf<Report>(end)).toEqual(confined);
      await waitUntil(async () => (await containersOf(c.nodeId)) === 0, 'the single-use container is removed');
    } finally {
      await closeLeavingNothing(c);
    }
  });
});
