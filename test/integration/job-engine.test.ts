import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Call } from '../../shared/protocol/domain.js';
import type { Execution } from '../../shared/protocol/execution.js';
import { makeBundle } from '../helpers/bundles.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { fixture } from '../helpers/fixtures.js';
import { http, upload } from '../helpers/http.js';
import { waitUntil } from '../helpers/temp.js';

const FINAL = ['DONE', 'ERROR', 'TIMEOUT', 'KILLED', 'CANCELLED'];

describe('job engine (real daemons, real containers)', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster({ workers: ['je-1'] });
    expect((await http('POST', `${c.url}/v1/runtimes`, { name: 'py-agent', image: 'pythonruntime', path: '/ws', run: 'main.py', protocol: 'agent' })).status).toBe(201);
  });
  afterAll(async () => {
    await c?.close();
  });

  async function push(name: string, fixtureName: string, fields: Record<string, string> = {}): Promise<void> {
    const b = await makeBundle(c.dir, name, await fixture(fixtureName));
    const r = await upload(`${c.url}/v1/functions/${name}`, b.file, { runtime: 'py-agent', ...fields });
    expect(r.status).toBe(201);
  }
  async function invoke(fn: string, params: unknown = {}, headers: Record<string, string> = {}, query = ''): Promise<{ status: number; id: string; headers: Headers }> {
    const r = await http<{ id: string }>('POST', `${c.url}/v1/functions/${fn}/invoke${query}`, params, headers);
    return { status: r.status, id: r.body.id, headers: r.headers };
  }
  const get = async (id: string): Promise<Call> => (await http<Call>('GET', `${c.url}/v1/calls/${id}`)).body;
  const executions = async (id: string): Promise<Execution[]> => (await http<{ executions: Execution[] }>('GET', `${c.url}/v1/calls/${id}/executions`)).body.executions;
  async function ended(id: string): Promise<Call> {
    let call!: Call;
    await waitUntil(async () => FINAL.includes((call = await get(id)).status), `call ${id} has ended`, 90_000);
    return call;
  }
  const deadLetters = async (fn: string): Promise<string[]> =>
    (await http<{ calls: Call[] }>('GET', `${c.url}/v1/dead-letters?funcName=${fn}`)).body.calls.map((x) => x.id);

  it('a function that hangs without a word is killed as STUCK; its next execution, reading its attempt from ctx, ends DONE', async () => {
    await push('stuck-once', 'stuck-once', { stuckAfterMs: '1500', retryMaxAttempts: '2', retryBackoffMs: '0' });
    const { id } = await invoke('stuck-once');
    const call = await ended(id);
    expect(call).toMatchObject({ status: 'DONE', result: `ok on attempt 2 of call ${id}`, attempt: 2, failures: 1 });
    const [first, second] = await executions(id);
    expect(first).toMatchObject({ attempt: 1, state: 'STUCK', nodeId: 'je-1', failureReason: { code: 'STUCK' } });
    expect(second).toMatchObject({ attempt: 2, state: 'DONE' });
  });

  it('a function that always fails runs maxAttempts times, each after its back-off, ends a dead letter, and retry brings it back', async () => {
    await push('fails', 'always-fails', { retryMaxAttempts: '3', retryBackoffMs: '400', retryBackoffFactor: '2' });
    const { id } = await invoke('fails');
    // While it waits out a back-off, it says until when.
    await waitUntil(async () => {
      const x = await get(id);
      return x.status === 'PENDING' && typeof x.nextAttemptAt === 'number' && x.nextAttemptAt > x.createdAt;
    }, 'the call waits out a back-off', 60_000);
    const call = await ended(id);
    expect(call).toMatchObject({ status: 'ERROR', attempt: 3, failures: 3, deadLetter: true, error: { code: 'FUNCTION_ERROR' } });
    expect(call.error?.message).toContain('attempt 3 failed');
    const runs = await executions(id);
    expect(runs.map((e) => e.state)).toEqual(['ERROR', 'ERROR', 'ERROR']);
    // Each execution was sent no sooner than its back-off after the one before ended: 400 ms, then 800.
    expect(runs[1]!.createdAt - runs[0]!.finishedAt!).toBeGreaterThanOrEqual(400);
    expect(runs[2]!.createdAt - runs[1]!.finishedAt!).toBeGreaterThanOrEqual(800);
    expect(await deadLetters('fails')).toEqual([id]);

    const retried = await http<Call>('POST', `${c.url}/v1/calls/${id}/retry`);
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ id, callNum: call.callNum, status: 'PENDING', attempt: 4, failures: 0, deadLetter: false });
    expect(await deadLetters('fails')).toEqual([]);
    const again = await ended(id);
    expect(again).toMatchObject({ status: 'ERROR', attempt: 6, failures: 3, deadLetter: true });

    // A whole selection at once.
    const more = [(await invoke('fails')).id, (await invoke('fails')).id];
    await Promise.all(more.map(ended));
    const bulk = await http<{ retried: number }>('POST', `${c.url}/v1/dead-letters/retry?funcName=fails`);
    expect(bulk.body).toEqual({ retried: 3 });
    await Promise.all([id, ...more].map(ended));
  });

  it('a back-off wait survives an api restart: the next execution still waits its time, then runs', async () => {
    await push('fails-slowly', 'always-fails', { retryMaxAttempts: '2', retryBackoffMs: '2500' });
    const { id } = await invoke('fails-slowly');
    let waiting!: Call;
    await waitUntil(async () => (waiting = await get(id)).status === 'PENDING' && typeof waiting.nextAttemptAt === 'number', 'the call waits out its back-off', 60_000);
    await c.restart('api');
    const call = await ended(id);
    expect(call).toMatchObject({ status: 'ERROR', attempt: 2, failures: 2, deadLetter: true });
    const [first, second] = await executions(id);
    expect(second!.createdAt).toBeGreaterThanOrEqual(waiting.nextAttemptAt!);
    expect(second!.createdAt - first!.finishedAt!).toBeGreaterThanOrEqual(2500);
  });

  it('a failure the function marks final is not retried', async () => {
    await push('final', 'final-error', { retryMaxAttempts: '5', retryBackoffMs: '0' });
    const { id } = await invoke('final', { x: 1 });
    const call = await ended(id);
    expect(call).toMatchObject({ status: 'ERROR', attempt: 1, deadLetter: true, error: { code: 'FUNCTION_ERROR', final: true } });
    expect(await executions(id)).toHaveLength(1);
  });

  it('a held call runs only once dispatched', async () => {
    await push('echo', 'ok');
    const held = await invoke('echo', { n: 1 }, {}, '?hold=true');
    expect(held.status).toBe(202);
    // Another call of the same function runs to its end meanwhile; the held one has not moved.
    const other = await invoke('echo', { n: 2 });
    expect((await ended(other.id)).status).toBe('DONE');
    expect(await get(held.id)).toMatchObject({ status: 'HELD', currentExecution: null });
    expect((await http<Call>('POST', `${c.url}/v1/calls/${held.id}/dispatch`)).body.status).toBe('PENDING');
    expect(await ended(held.id)).toMatchObject({ status: 'DONE', result: '{"echo":{"n":1}}' });
    expect((await http('POST', `${c.url}/v1/calls/${held.id}/dispatch`)).status).toBe(409);
  });

  it('the same idempotency key twice gives one call, across an api restart; other params are refused', async () => {
    await push('echo', 'ok');
    const first = await invoke('echo', { n: 7 }, { 'idempotency-key': 'order-7' });
    expect(first.status).toBe(202);
    const again = await invoke('echo', { n: 7 }, { 'idempotency-key': 'order-7' }, '?wait=true');
    expect(again).toMatchObject({ status: 200, id: first.id });
    expect(again.headers.get('idempotency-replayed')).toBe('true');
    await c.restart('api');
    const afterRestart = await invoke('echo', { n: 7 }, { 'idempotency-key': 'order-7' });
    expect(afterRestart).toMatchObject({ status: 200, id: first.id });
    const clash = await http<{ error: { code: string } }>('POST', `${c.url}/v1/functions/echo/invoke`, { n: 8 }, { 'idempotency-key': 'order-7' });
    expect(clash.status).toBe(409);
    expect(clash.body.error.code).toBe('IDEMPOTENCY_CONFLICT');
    expect(await ended(first.id)).toMatchObject({ status: 'DONE', idempotencyKey: 'order-7' });
    const all = (await http<{ calls: Call[] }>('GET', `${c.url}/v1/calls?funcName=echo&limit=1000`)).body.calls;
    expect(all.filter((x) => x.idempotencyKey === 'order-7')).toHaveLength(1);
  });
});
