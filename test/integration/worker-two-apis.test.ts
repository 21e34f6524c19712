import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../shared/clients/registry-client.js';
import type { Dispatch } from '../../shared/protocol/worker-messages.js';
import { makeBundle } from '../helpers/bundles.js';
import { curveTo } from '../helpers/curve.js';
import { spawnDaemon, type DaemonProcess } from '../helpers/daemon.js';
import { FakeApi } from '../helpers/fake-api.js';
import { makeTempDir, waitUntil } from '../helpers/temp.js';

/**
 * A real worker connected to two apis (played by {@link FakeApi}, real ROUTERs speaking the
 * protocol, as two api daemons would): it says hello to both, takes calls only from the one that
 * said last, with the highest epoch, that it schedules, and reports to it alone.
 */
describe('a worker between two apis', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const apis = [] as FakeApi[];
  let registry: DaemonProcess;
  let registryClient: RegistryClient;
  let worker: DaemonProcess;
  let bundle: { sha256: string; size: number };
  const nodeId = 'wt-node';
  let n = 0;
  const call = (): Dispatch => ({
    callId: `wt-call-${++n}`,
    attempt: 1,
    function: 'fn',
    version: 1,
    params: { n },
    timeoutMs: 30_000,
    memoryMb: 256,
    ...bundle,
    runtime: { name: 'rt', image: 'ferry-test/never-built', path: '/ws', dependencies: '', run: 'true', protocol: 'exec' },
  });
  const dropped = (callId: string) => () => worker.logs.some((l) => l['msg'] === 'message from an api that does not schedule dropped' && l['callId'] === callId);

  beforeAll(async () => {
    ({ dir, cleanup } = await makeTempDir('ferry-worker-'));
    for (let i = 0; i < 2; i++) {
      const api = new FakeApi(dir);
      await api.start();
      apis.push(api);
    }
    registry = await spawnDaemon('registry', { FERRY_DATA_DIR: dir, FERRY_REGISTRY_BIND: 'tcp://127.0.0.1:*' });
    registryClient = new RegistryClient({ registryAddr: registry.endpoint, requestTimeoutMs: 10_000, requestRetries: 0 }, curveTo(registry.endpoint));
    const made = await makeBundle(dir, 'wt-fn', { 'main.sh': 'exit 0\n' });
    await registryClient.putFile(made.file);
    bundle = { sha256: made.sha256, size: made.size };
    worker = await spawnDaemon('worker', {
      FERRY_DATA_DIR: dir,
      FERRY_REGISTRY_ADDR: registry.endpoint,
      FERRY_WORKERS_ADDR: apis.map((a) => a.endpoint).join(','),
      FERRY_NODE_ID: nodeId,
      FERRY_DRIVER: 'fake',
    });
  });
  afterAll(async () => {
    await worker?.kill();
    await registryClient?.close();
    await registry?.kill();
    for (const api of apis) api.close();
    await cleanup?.();
  });

  it('says hello to both apis', async () => {
    for (const api of apis) await api.waitFor((m) => m.msgType === 'hello' && m.nodeId === nodeId, 'hello');
  });

  it('runs the calls of the api that schedules and reports to it; a newer epoch moves both to the other api, an older one is ignored', async () => {
    const [a, b] = apis as [FakeApi, FakeApi];
    a.lead(nodeId, 1);
    const first = call();
    a.dispatch(nodeId, first);
    expect((await a.finished(first.callId)).msgType).toBe('finished');

    // b takes over: a's calls from now on are fenced off, b's run and b hears their ends.
    b.lead(nodeId, 2);
    await waitUntil(
      () => worker.logs.some((l) => l['msg'] === 'the scheduling api is now this one' && l['epoch'] === 2 && l['apiAddr'] === b.endpoint),
      'the worker follows the newer scheduler',
    );
    const fromOld = call();
    a.dispatch(nodeId, fromOld);
    await waitUntil(dropped(fromOld.callId), 'the call of the api that no longer schedules is dropped');
    const fromNew = call();
    b.dispatch(nodeId, fromNew);
    expect((await b.finished(fromNew.callId)).msgType).toBe('finished');

    // a says it schedules under the old epoch again (it was cut off and never saw b's): ignored.
    a.lead(nodeId, 1);
    const stale = call();
    a.dispatch(nodeId, stale);
    await waitUntil(dropped(stale.callId), 'a stale scheduler is still fenced off');
    const again = call();
    b.dispatch(nodeId, again);
    await b.finished(again.callId);

    const about = (api: FakeApi, id: string) => api.received.filter((m) => m.msgType !== 'hello' && m.msgType !== 'heartbeat' && 'callId' in m.content && m.content.callId === id);
    expect(about(a, fromOld.callId)).toEqual([]);
    expect(about(a, stale.callId)).toEqual([]);
    expect(about(a, fromNew.callId)).toEqual([]);
    expect(about(b, first.callId)).toEqual([]);
  });
});
