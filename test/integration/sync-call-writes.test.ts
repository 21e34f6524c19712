import { afterEach, describe, expect, it } from 'vitest';
import type { Call } from '../../shared/protocol/domain.js';
import type { Execution } from '../../shared/protocol/execution.js';
import { makeBundle } from '../helpers/bundles.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { http, upload } from '../helpers/http.js';
import { waitUntil } from '../helpers/temp.js';

type CallView = Omit<Call, 'executions'> & { currentExecution: Execution | null };

/** Node ids of this file start with `nc-`. */
const nodeId = (what: string): string => `nc-${what}-${Math.random().toString(36).slice(2, 8)}`;

/** A runtime no node runs for real: the nodes here run the fake driver. */
const fakeRuntime = { name: 'nc-fake', image: 'ferry-test/never-built', path: '/ws', run: 'sh main.sh', protocol: 'exec' };

/**
 * A cluster with one fake node whose calls take `delayMs` (`5-40`: drawn per call) and a function
 * `echo`; a sync call's create waits `holdMs` after its dispatch for its start or end.
 */
async function fakeCluster(delayMs: string, holdMs = '25'): Promise<Cluster> {
  const c = await startCluster({ apiEnv: { FERRY_CALL_WRITE_HOLD_MS: holdMs } });
  await c.startWorker(nodeId('node'), { FERRY_DRIVER: 'fake', FERRY_FAKE_DELAY_MS: delayMs, FERRY_MAX_CONTAINERS: '8' });
  expect((await http('POST', `${c.url}/v1/runtimes`, fakeRuntime)).status).toBe(201);
  const b = await makeBundle(c.dir, 'echo', { 'main.sh': 'cat\n' });
  expect((await upload(`${c.url}/v1/functions/echo`, b.file, { runtime: fakeRuntime.name })).status).toBe(201);
  return c;
}

/** The db's count of call records written, by kind (`create`, `create-and-update`, `update`). */
async function callWrites(c: Cluster): Promise<Record<string, number>> {
  const text = await (await fetch(c.db.metricsUrl!)).text();
  const out: Record<string, number> = { create: 0, 'create-and-update': 0, update: 0 };
  for (const m of text.matchAll(/^ferry_db_call_writes_total\{write="([a-z-]+)"\} (\d+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

const syncInvoke = (c: Cluster, params: unknown): Promise<{ status: number; body: CallView }> =>
  http<CallView>('POST', `${c.url}/v1/functions/echo/invoke?wait=true`, params);

describe('a sync call that ends within a few milliseconds is stored once', () => {
  let c: Cluster | undefined;
  afterEach(async () => {
    await c?.close();
    c = undefined;
  });

  it('one write, the call ended in it; a read right after the answer sees it ended, in the list too', async () => {
    // A hold no busy machine outlasts: the end always comes first.
    c = await fakeCluster('0', '600000');
    // The first call of the function pays for preparing it; the ones after are the warm path.
    expect((await syncInvoke(c, { warm: true })).status).toBe(200);
    const before = await callWrites(c);
    const answer = await syncInvoke(c, { n: 1 });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'DONE', result: '{"n":1}' });

    const read = await http<CallView>('GET', `${c.url}/v1/calls/${answer.body.id}`);
    expect(read.body).toMatchObject({ status: 'DONE', result: '{"n":1}', attempt: 1, progress: 1 });
    expect(read.body.currentExecution).toMatchObject({ attempt: 1, state: 'DONE' });
    expect(read.body.startedAt).not.toBeNull();
    const listed = await http<{ calls: { id: string; status: string }[] }>('GET', `${c.url}/v1/calls?funcName=echo&status=DONE`);
    expect(listed.body.calls.map((x) => x.id)).toContain(answer.body.id);

    const after = await callWrites(c);
    const writes = Object.fromEntries(Object.keys(after).map((k) => [k, after[k]! - before[k]!]));
    expect(writes).toEqual({ create: 0, 'create-and-update': 1, update: 0 });
  });

  it('a sync call still running after the hold is stored while it runs, and ends by an update', async () => {
    c = await fakeCluster('3000', '200');
    const before = await callWrites(c);
    const answer = syncInvoke(c, { slow: true });
    let running: { id: string }[] = [];
    await waitUntil(async () => {
      running = (await http<{ calls: { id: string }[] }>('GET', `${c!.url}/v1/calls?funcName=echo&status=RUNNING`)).body.calls;
      return running.length === 1;
    }, 'the slow call is listed RUNNING while it runs');
    const done = await answer;
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ id: running[0]!.id, status: 'DONE' });
    // A read sees every write sent before it: the end's update is counted by then.
    expect((await http<CallView>('GET', `${c.url}/v1/calls/${done.body.id}`)).body.status).toBe('DONE');
    const after = await callWrites(c);
    // Created once: RUNNING with its start when that came within the hold, else PENDING.
    expect(after['create']! - before['create']! + after['create-and-update']! - before['create-and-update']!).toBe(1);
    expect(after['update']! - before['update']!).toBeGreaterThanOrEqual(1);
  });

  it('a call that ends within the hold after its start is not written RUNNING: its end carries the start', async () => {
    // Long enough that its node reports it started; a hold no busy machine outlasts.
    c = await fakeCluster('50', '600000');
    const r = await http<{ id: string }>('POST', `${c.url}/v1/functions/echo/invoke`, { first: true });
    expect(r.status).toBe(202);
    await waitUntil(async () => (await http<CallView>('GET', `${c!.url}/v1/calls/${r.body.id}`)).body.status === 'DONE', 'the first call ended', 30_000);
    const before = await callWrites(c);
    const second = await http<{ id: string }>('POST', `${c.url}/v1/functions/echo/invoke`, { second: true });
    let done!: CallView;
    await waitUntil(async () => (done = (await http<CallView>('GET', `${c!.url}/v1/calls/${second.body.id}`)).body).status === 'DONE', 'the second call ended', 30_000);
    expect(done.startedAt).not.toBeNull();
    expect(done.currentExecution).toMatchObject({ state: 'DONE' });
    const after = await callWrites(c);
    const writes = Object.fromEntries(Object.keys(after).map((k) => [k, after[k]! - before[k]!]));
    expect(writes).toEqual({ create: 1, 'create-and-update': 0, update: 1 });
  });

  it('an async call is stored before its 202, as ever', async () => {
    c = await fakeCluster('0');
    const r = await http<{ id: string }>('POST', `${c.url}/v1/functions/echo/invoke`, { async: true });
    expect(r.status).toBe(202);
    // The 202 names a stored call: a read at once finds it, whatever its status by then.
    expect((await http('GET', `${c.url}/v1/calls/${r.body.id}`)).status).toBe(200);
  });

  it('an api killed while sync calls run loses none of the calls whose answer a caller got', async () => {
    // Some calls end within the hold (one write), some after it (create, then update).
    c = await fakeCluster('0-40');
    expect((await syncInvoke(c, { warm: true })).status).toBe(200);
    const answered = new Map<string, string>();
    let killed = false;
    const callers = Array.from({ length: 16 }, async (_, k) => {
      for (let i = 0; !killed; i++) {
        const params = { k, i };
        const r = await syncInvoke(c!, params).catch(() => null);
        // An answer that arrived counts, even one that raced the kill.
        if (r?.status === 200) answered.set(r.body.id, JSON.stringify(params));
      }
    });
    await waitUntil(() => answered.size >= 200, '200 sync calls answered', 60_000);
    killed = true;
    await c.api.kill('SIGKILL');
    await Promise.all(callers);
    await c.restart('api');

    // Every call whose caller heard DONE is stored: DONE already, or its end lands from its
    // node, which resends a final report until an api has stored it.
    for (const [id, params] of answered) {
      let read!: { status: number; body: CallView };
      await waitUntil(
        async () => {
          read = await http<CallView>('GET', `${c!.url}/v1/calls/${id}`);
          return read.status !== 200 || read.body.status !== 'PENDING';
        },
        `call ${id} has its end stored`,
        30_000,
      );
      expect(read.status, `call ${id} was answered DONE and must be stored`).toBe(200);
      expect(read.body).toMatchObject({ status: 'DONE', result: params });
    }
    // What was stored and not answered ends too (its node's report lands, or it runs again): nothing stays in flight.
    await waitUntil(
      async () => {
        const inFlight = await Promise.all(
          ['PENDING', 'RUNNING'].map(async (s) => (await http<{ calls: unknown[] }>('GET', `${c!.url}/v1/calls?status=${s}`)).body.calls.length),
        );
        return inFlight.every((n) => n === 0);
      },
      'no call is left in flight after the restart',
      30_000,
    );
  });
});
