import { existsSync } from 'node:fs';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDbClient } from '../../shared/clients/db-client.js';
import type { SessionView } from '../../services/api/groups/session-view.js';
import type { Call } from '../../shared/protocol/domain.js';
import { makeBundle } from '../helpers/bundles.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { curveTo } from '../helpers/curve.js';
import { fixture } from '../helpers/fixtures.js';
import { http, upload } from '../helpers/http.js';
import { waitUntil } from '../helpers/temp.js';

/**
 * Sessions (FOQUS) on a real cluster. Every node id starts with `ss-`, so nothing here can be
 * taken for another test's node.
 */
const nodeId = (what: string): string => `ss-${what}-${Math.random().toString(36).slice(2, 8)}`;

/** A runtime no node could run for real: on a fake node that does not matter, which is the point. */
const unrunnable = { name: 'ss-nowhere', image: 'ferry-test/never-built', path: '/ws', run: 'sh main.sh', protocol: 'exec' };
const failingCode = { 'main.sh': 'echo "this must never run" >&2; exit 3\n' };

const FAKETIME_LIB = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';

interface Page {
  page: number | null;
  from: number;
  to: number;
  calls: Call[];
}

async function deploy(c: Cluster, name: string): Promise<void> {
  const b = await makeBundle(c.dir, name, failingCode);
  const r = await upload(`${c.url}/v1/functions/${name}`, b.file, { runtime: unrunnable.name });
  expect(r.status, r.text).toBe(201);
}

async function createSession(c: Cluster): Promise<string> {
  const r = await http<{ id: string }>('POST', `${c.url}/v1/sessions`);
  expect(r.status, r.text).toBe(201);
  return r.body.id;
}

async function append(c: Cluster, id: string, items: unknown[]): Promise<string[]> {
  const r = await http<{ ids: string[] }>('POST', `${c.url}/v1/sessions/${id}/calls`, items);
  expect(r.status, r.text).toBe(201);
  return r.body.ids;
}

async function session(c: Cluster, id: string): Promise<SessionView> {
  const r = await http<SessionView>('GET', `${c.url}/v1/sessions/${id}`);
  expect(r.status, r.text).toBe(200);
  return r.body;
}

async function nextPage(c: Cluster, id: string): Promise<Page> {
  const r = await http<Page>('POST', `${c.url}/v1/sessions/${id}/results`);
  expect(r.status, r.text).toBe(200);
  return r.body;
}

/** Takes pages until the session is finished and one more page finds nothing new. */
async function pagesUntilFinished(c: Cluster, id: string, pages: Page[]): Promise<void> {
  await waitUntil(
    async () => {
      // Read before the page: if it was finished then, the page holds every call that is left.
      const finished = (await session(c, id)).state === 'finished';
      const p = await nextPage(c, id);
      if (p.page !== null) pages.push(p);
      return finished && p.page === null;
    },
    `session ${id} finished and every ended call paged`,
    120_000,
  );
}

/** Pages follow each other with no gap or overlap, hold distinct calls in finish order, and read back the same. */
async function expectPagesSound(c: Cluster, id: string, pages: Page[], allIds: string[]): Promise<void> {
  const seen = new Set<string>();
  pages.forEach((p, i) => {
    expect(p.page).toBe(i + 1);
    expect(p.from).toBe(i === 0 ? 0 : pages[i - 1]!.to);
    expect(p.to).toBeGreaterThan(p.from);
    const seqs = p.calls.map((call) => call.finishSeq!);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    for (const call of p.calls) {
      expect(seen.has(call.id), `call ${call.id} is in two pages`).toBe(false);
      seen.add(call.id);
      expect(call.finishSeq! > p.from && call.finishSeq! <= p.to).toBe(true);
      expect(['DONE', 'ERROR', 'TIMEOUT', 'KILLED', 'CANCELLED']).toContain(call.status);
    }
  });
  expect([...seen].sort()).toEqual([...allIds].sort());
  for (const p of pages) {
    for (let again = 0; again < 2; again += 1) {
      const r = await http<Page>('GET', `${c.url}/v1/sessions/${id}/results/${p.page}`);
      expect(r.status, r.text).toBe(200);
      expect(r.body.calls.map((call) => call.id)).toEqual(p.calls.map((call) => call.id));
      expect({ ...r.body, calls: undefined }).toEqual({ ...p, calls: undefined });
    }
  }
}

describe('sessions on a fake node', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster({ logLevel: 'info' });
    await c.startWorker(nodeId('fast'), { FERRY_DRIVER: 'fake', FERRY_MAX_CONTAINERS: '4', FERRY_FAKE_DELAY_MS: '5-150' });
    expect((await http('POST', `${c.url}/v1/runtimes`, unrunnable)).status).toBe(201);
    await deploy(c, 'ss-alpha');
    await deploy(c, 'ss-beta');
  }, 60_000);
  afterAll(async () => {
    await c?.close();
  });

  it('holds appended calls of several functions until started, then runs them and later appends at once', async () => {
    const id = await createSession(c);
    expect(await session(c, id)).toMatchObject({ id, state: 'open', total: 0, startedAt: null, finishedAt: null });
    const ids = await append(c, id, [
      { function: 'ss-alpha', params: { n: 1 } },
      { function: 'ss-beta@1', params: { n: 2 } },
      { function: 'ss-alpha' },
    ]);
    expect(ids).toHaveLength(3);
    expect(await session(c, id)).toMatchObject({ state: 'open', total: 3, counts: { HELD: 3 } });
    const listed = await http<{ calls: Call[] }>('GET', `${c.url}/v1/calls?sessionId=${id}`);
    expect(listed.body.calls.map((call) => call.id).sort()).toEqual([...ids].sort());
    for (const call of listed.body.calls) expect(call).toMatchObject({ status: 'HELD', sessionId: id, groupId: id });
    expect(listed.body.calls.find((call) => call.id === ids[1])).toMatchObject({ funcName: 'ss-beta', params: { n: 2 } });

    // An unknown function: refused before any call is made.
    expect((await http('POST', `${c.url}/v1/sessions/${id}/calls`, [{ function: 'ss-alpha' }, { function: 'ss-missing' }])).status).toBe(404);
    expect((await session(c, id)).total).toBe(3);

    const started = await http<SessionView>('POST', `${c.url}/v1/sessions/${id}/start`);
    expect(started.status, started.text).toBe(200);
    expect(started.body.startedAt).not.toBeNull();
    await waitUntil(async () => (await session(c, id)).state === 'finished', `session ${id} finished`, 30_000);
    expect(await session(c, id)).toMatchObject({ total: 3, counts: { DONE: 3 } });

    const [late] = await append(c, id, [{ function: 'ss-beta' }]);
    await waitUntil(async () => (await http<Call>('GET', `${c.url}/v1/calls/${late}`)).body.status === 'DONE', 'a call appended to a started session ran', 30_000);
    expect(await session(c, id)).toMatchObject({ state: 'finished', total: 4, counts: { DONE: 4 } });

    const killed = await http<SessionView>('POST', `${c.url}/v1/sessions/${id}/kill`);
    expect(killed.body.state).toBe('killed');
    const refused = await http<{ error: { code: string } }>('POST', `${c.url}/v1/sessions/${id}/calls`, [{ function: 'ss-alpha' }]);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('CONFLICT');
    expect((await http('POST', `${c.url}/v1/sessions/${id}/start`)).status).toBe(409);

    const list = await http<{ sessions: SessionView[] }>('GET', `${c.url}/v1/sessions?limit=1`);
    expect(list.body.sessions[0]?.id).toBe(id);
    expect((await http('GET', `${c.url}/v1/sessions/nosuchsession1`)).status).toBe(404);
    expect((await http('GET', `${c.url}/v1/sessions/${id}/results/1`)).status).toBe(404);
  }, 90_000);

  it('result pages taken while calls finish never repeat or skip a call, and read back the same', async () => {
    const id = await createSession(c);
    const ids = await append(
      c,
      id,
      Array.from({ length: 60 }, (_, i) => ({ function: i % 2 ? 'ss-alpha' : 'ss-beta', params: { i } })),
    );
    expect((await nextPage(c, id)).page).toBeNull(); // nothing ended yet: no page
    expect((await http('POST', `${c.url}/v1/sessions/${id}/start`)).status).toBe(200);
    const pages: Page[] = [];
    // Two takers at once: the DB makes one page at a time, so they never overlap.
    await Promise.all([pagesUntilFinished(c, id, pages), pagesUntilFinished(c, id, pages)]);
    pages.sort((a, b) => a.page! - b.page!);
    expect(pages.length).toBeGreaterThan(1);
    await expectPagesSound(c, id, pages, ids);
  }, 150_000);

  it('gives a call run again and ended again a new finish sequence, paged after its first end', async () => {
    const id = await createSession(c);
    const [a, b] = await append(c, id, [{ function: 'ss-alpha' }, { function: 'ss-beta' }]);
    expect((await http('POST', `${c.url}/v1/calls/${a}/cancel`)).status).toBe(200);
    const first = await nextPage(c, id);
    expect(first).toMatchObject({ page: 1, from: 0, to: 1 });
    expect(first.calls.map((call) => [call.id, call.status, call.finishSeq])).toEqual([[a, 'CANCELLED', 1]]);

    expect((await http('POST', `${c.url}/v1/calls/${a}/retry`)).status).toBe(200);
    await waitUntil(async () => (await http<Call>('GET', `${c.url}/v1/calls/${a}`)).body.status === 'DONE', 'the retried call ran', 30_000);
    expect((await http<Call>('GET', `${c.url}/v1/calls/${a}`)).body.finishSeq).toBe(2);
    expect((await http('POST', `${c.url}/v1/sessions/${id}/start`)).status).toBe(200);
    const pages: Page[] = [first];
    await pagesUntilFinished(c, id, pages);
    const later = pages.slice(1).flatMap((p) => p.calls);
    expect(later.map((call) => [call.id, call.finishSeq])).toEqual([
      [a, 2],
      [b, 3],
    ]);
    // Page 1 still holds the call it was made with (shown as the call is now).
    expect((await http<Page>('GET', `${c.url}/v1/sessions/${id}/results/1`)).body.calls.map((call) => call.id)).toEqual([a]);
  }, 90_000);

  it('a session an api died while starting has the calls it still holds dispatched by the next api', async () => {
    const id = await createSession(c);
    const ids = await append(c, id, Array.from({ length: 6 }, (_, i) => ({ function: 'ss-alpha', params: { i } })));
    // What a dead api leaves: the session marked started, none of its calls dispatched yet.
    const db = createDbClient({ dbAddr: c.db.endpoint, requestTimeoutMs: 10_000, requestRetries: 0 }, curveTo(c.db.endpoint));
    try {
      await db.call('startGroup', { id });
    } finally {
      await db.close();
    }
    await c.restart('api');
    await waitUntil(async () => (await session(c, id)).state === 'finished', `session ${id} finished after the api restarted`, 60_000);
    expect(await session(c, id)).toMatchObject({ total: 6, counts: { DONE: 6 } });
    const pages: Page[] = [];
    await pagesUntilFinished(c, id, pages);
    await expectPagesSound(c, id, pages, ids);
  }, 90_000);
});

/**
 * FOQUS pages by the finish times nodes report, so a node whose clock is behind has its calls
 * skipped. Here one node runs under libfaketime two days behind the api and the first node.
 */
describe.skipIf(!existsSync(FAKETIME_LIB))('result pages with a node two days behind (libfaketime)', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster({ logLevel: 'info' });
    expect((await http('POST', `${c.url}/v1/runtimes`, unrunnable)).status).toBe(201);
    await deploy(c, 'ss-skew');
  }, 60_000);
  afterAll(async () => {
    await c?.close();
  });

  it('pages every call of the late node after those of the right one', async () => {
    const id = await createSession(c);
    const right = nodeId('right');
    await c.startWorker(right, { FERRY_DRIVER: 'fake', FERRY_MAX_CONTAINERS: '3', FERRY_FAKE_DELAY_MS: '5-100' });
    const first = await append(c, id, Array.from({ length: 10 }, (_, i) => ({ function: 'ss-skew', params: { i } })));
    expect((await http('POST', `${c.url}/v1/sessions/${id}/start`)).status).toBe(200);
    await waitUntil(async () => (await session(c, id)).state === 'finished', 'the first calls ended', 30_000);
    const pages: Page[] = [await nextPage(c, id)];
    expect(pages[0]!.calls.map((call) => call.id).sort()).toEqual([...first].sort());
    await c.workers.get(right)!.kill();
    c.workers.delete(right);

    await c.startWorker(nodeId('late'), {
      FERRY_DRIVER: 'fake',
      FERRY_MAX_CONTAINERS: '3',
      FERRY_FAKE_DELAY_MS: '5-100',
      LD_PRELOAD: FAKETIME_LIB,
      FAKETIME: '-2d',
      // Only the wall clock is set back: timers run on the monotonic clock, which stays right.
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
    });
    const second = await append(c, id, Array.from({ length: 20 }, (_, i) => ({ function: 'ss-skew', params: { i } })));
    await pagesUntilFinished(c, id, pages);
    await expectPagesSound(c, id, pages, [...first, ...second]);

    // The late node's clock is in force: every end it reported is before every end of the first
    // page, so paging by reported finish times (FOQUS) would never have shown one of them.
    const firstEnd = Math.min(...pages[0]!.calls.map((call) => call.finishedAt!));
    const lateCalls = pages.slice(1).flatMap((p) => p.calls);
    expect(lateCalls.map((call) => call.id).sort()).toEqual([...second].sort());
    for (const call of lateCalls) expect(call.finishedAt!, JSON.stringify(call)).toBeLessThan(firstEnd);
  }, 150_000);
});

describe('killing a session half-way on a Docker node', () => {
  const docker = new Docker();
  const node = nodeId('docker');
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster({ logLevel: 'info' });
    await c.startWorker(node, { FERRY_MAX_CONTAINERS: '4' });
    expect((await http('POST', `${c.url}/v1/runtimes`, { name: 'py-agent', image: 'pythonruntime', path: '/ws', run: 'main.py', protocol: 'agent' })).status).toBe(201);
    const b = await makeBundle(c.dir, 'ss-slow', await fixture('slow'));
    expect((await upload(`${c.url}/v1/functions/ss-slow`, b.file, { runtime: 'py-agent' })).status).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await c?.close();
  });

  it('ends running calls KILLED with their containers gone and the others CANCELLED', async () => {
    const id = await createSession(c);
    const ids = await append(c, id, Array.from({ length: 20 }, () => ({ function: 'ss-slow', params: { seconds: 600 } })));
    expect((await http('POST', `${c.url}/v1/sessions/${id}/start`)).status).toBe(200);
    await waitUntil(async () => (await session(c, id)).counts.RUNNING === 4, 'four calls running on the node', 120_000);

    const killed = await http<SessionView>('POST', `${c.url}/v1/sessions/${id}/kill`);
    expect(killed.status, killed.text).toBe(200);
    expect(killed.body).toMatchObject({ state: 'killed', total: 20, counts: { KILLED: 4, CANCELLED: 16 } });
    const calls = (await http<{ calls: Call[] }>('GET', `${c.url}/v1/calls?sessionId=${id}&limit=100`)).body.calls;
    expect(calls.map((call) => call.id).sort()).toEqual([...ids].sort());
    const killedIds = calls.filter((call) => call.status === 'KILLED').map((call) => call.id);
    expect(killedIds).toHaveLength(4);

    // Every container that ran a call of the session is gone (the node stops the run, container and all).
    const ofSession = async (): Promise<number> =>
      (await docker.listContainers({ all: true, filters: { label: [`ferry.node=${node}`] } })).filter((ct) => ids.includes(ct.Labels['ferry.call'] ?? '')).length;
    await waitUntil(async () => (await ofSession()) === 0, "the killed calls' containers are gone", 60_000);
    // Nothing of the session starts afterwards.
    expect((await session(c, id)).counts).toEqual({ KILLED: 4, CANCELLED: 16 });
    expect((await http('POST', `${c.url}/v1/sessions/${id}/calls`, [{ function: 'ss-slow' }])).status).toBe(409);
  }, 240_000);
});
