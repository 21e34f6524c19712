import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allMoves } from '../../services/api/calls/transitions.js';
import type { Call, CallStatus } from '../../shared/protocol/domain.js';
import type { Dispatch } from '../../shared/protocol/worker-messages.js';
import { makeBundle } from '../helpers/bundles.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { FakeNode } from '../helpers/fake-node.js';
import { fixture } from '../helpers/fixtures.js';
import { http, upload } from '../helpers/http.js';
import { waitUntil } from '../helpers/temp.js';

/**
 * Walks every move of the call state machine through the public API. The node is played by the
 * test over a real DEALER (FakeNode), because a real worker will not produce each report on cue
 * (a TIMEOUT before any `started`, a retryable failure after one).
 */
describe('the call state machine, every move', () => {
  let c: Cluster;
  let node: FakeNode;
  const seen = new Set<string>();

  beforeAll(async () => {
    c = await startCluster({ apiEnv: { FERRY_MAX_ATTEMPTS: '5' } });
    expect((await http('POST', `${c.url}/v1/runtimes`, { name: 'py-agent', image: 'pythonruntime', path: '/ws', run: 'main.py', protocol: 'agent' })).status).toBe(201);
    const b = await makeBundle(c.dir, 'echo', await fixture('ok'));
    expect((await upload(`${c.url}/v1/functions/echo`, b.file, { runtime: 'py-agent' })).status).toBe(201);
    node = new FakeNode('sm-node', c.env['FERRY_WORKERS_ADDR']!);
    node.join(4);
    await waitUntil(async () => (await http<{ nodes: unknown[] }>('GET', `${c.url}/v1/nodes`)).body.nodes.length === 1, 'the node joined');
  });
  afterAll(async () => {
    node?.close();
    await c?.close();
  });

  const get = async (id: string): Promise<Call> => (await http<Call>('GET', `${c.url}/v1/calls/${id}`)).body;

  /** Does `act`, waits for the call to reach `to` (at `attempt`, when given), and notes the move. */
  async function step(id: string, act: () => unknown, to: CallStatus, attempt?: number): Promise<void> {
    const from = (await get(id)).status;
    await act();
    await waitUntil(async () => {
      const call = await get(id);
      return call.status === to && (attempt === undefined || call.attempt === attempt);
    }, `call ${id} moves ${from} → ${to}${attempt ? ` at attempt ${attempt}` : ''}`);
    seen.add(`${from} → ${to}`);
  }

  async function invoke(query = ''): Promise<string> {
    const r = await http<{ id: string }>('POST', `${c.url}/v1/functions/echo/invoke${query}`, {});
    expect(r.status).toBe(202);
    return r.body.id;
  }

  const post = (id: string, what: 'dispatch' | 'cancel' | 'retry') => async (): Promise<void> => {
    expect((await http('POST', `${c.url}/v1/calls/${id}/${what}`)).status).toBe(200);
  };

  async function dispatched(id: string, attempt: number): Promise<Dispatch> {
    const d = await node.nextDispatch();
    expect(d).toMatchObject({ callId: id, attempt });
    return d;
  }

  it('held: dispatched, run, done; or cancelled, then retried', async () => {
    const a = await invoke('?hold=true');
    expect((await get(a)).status).toBe('HELD');
    await step(a, post(a, 'dispatch'), 'PENDING');
    const d = await dispatched(a, 1);
    await step(a, () => node.started(d), 'RUNNING');
    await step(a, () => node.end(d, 'DONE', 'ok'), 'DONE');

    const b = await invoke('?hold=true');
    await step(b, post(b, 'cancel'), 'CANCELLED');
    await step(b, post(b, 'retry'), 'PENDING', 2);
    await step(b, () => dispatched(b, 2).then((d2) => node.end(d2, 'DONE', 'ok')), 'DONE');
  });

  it('requeued before and after it started, failed, retried, timed out, retried, failed while running', async () => {
    const id = await invoke();
    const d1 = await dispatched(id, 1);
    await step(id, () => node.fail(d1, true), 'PENDING', 2);
    const d2 = await dispatched(id, 2);
    await step(id, () => node.started(d2), 'RUNNING');
    await step(id, () => node.fail(d2, true), 'PENDING', 3);
    const d3 = await dispatched(id, 3);
    await step(id, () => node.end(d3, 'ERROR'), 'ERROR');
    await step(id, post(id, 'retry'), 'PENDING', 4);
    const d4 = await dispatched(id, 4);
    await step(id, () => node.end(d4, 'TIMEOUT'), 'TIMEOUT');
    await step(id, post(id, 'retry'), 'PENDING', 5);
    const d5 = await dispatched(id, 5);
    await step(id, () => node.started(d5), 'RUNNING');
    await step(id, () => node.end(d5, 'ERROR'), 'ERROR');
  });

  it('timed out while running; killed while running, then retried; cancelled while waiting', async () => {
    const t = await invoke();
    const dt = await dispatched(t, 1);
    await step(t, () => node.started(dt), 'RUNNING');
    await step(t, () => node.end(dt, 'TIMEOUT'), 'TIMEOUT');

    const k = await invoke();
    const dk = await dispatched(k, 1);
    await step(k, () => node.started(dk), 'RUNNING');
    await step(k, post(k, 'cancel'), 'KILLED');
    await waitUntil(() => node.cancels.some((x) => x.callId === k && x.attempt === 1), 'the node is told to stop the killed run');
    await step(k, post(k, 'retry'), 'PENDING', 2);
    await dispatched(k, 2);

    const w = await invoke();
    await dispatched(w, 1);
    await step(w, post(w, 'cancel'), 'CANCELLED');
  });

  it('has walked every move the machine allows, and no other', () => {
    expect([...seen].sort()).toEqual(allMoves().map(([from, to]) => `${from} → ${to}`).sort());
  });

  it('refuses moves it does not allow with 409', async () => {
    const id = await invoke();
    await step(id, () => dispatched(id, 1).then((d) => node.end(d, 'DONE', 'ok')), 'DONE');
    for (const what of ['dispatch', 'cancel', 'retry'] as const) {
      const r = await http<{ error: { code: string } }>('POST', `${c.url}/v1/calls/${id}/${what}`);
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe('CONFLICT');
    }
  });
});
