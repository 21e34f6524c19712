import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Call } from '../../shared/protocol/domain.js';
import { makeBundle } from '../helpers/bundles.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import type { DaemonProcess } from '../helpers/daemon.js';
import { fixture } from '../helpers/fixtures.js';
import { http, upload } from '../helpers/http.js';
import { waitUntil } from '../helpers/temp.js';

/**
 * A request id follows a call through every daemon: the api, the db, the worker daemon and the
 * miniworker that ran it each log lines bound to it, the call record keeps it, and the api
 * answers it. On a fake node: its miniworkers are the real ones, only the sandbox is made up.
 * Every node id starts with `ri-`, so nothing here can be taken for another test's node.
 */
const nodeId = (what: string): string => `ri-${what}-${Math.random().toString(36).slice(2, 8)}`;
const unrunnable = { name: 'ri-nowhere', image: 'ferry-test/never-built', path: '/ws', run: 'sh main.sh', protocol: 'exec' };

type Line = Record<string, unknown>;
const linesOf = (d: DaemonProcess, requestId: string): Line[] => d.logs.filter((l) => l['requestId'] === requestId);
const msgs = (lines: Line[]): string[] => lines.map((l) => String(l['msg']));

/** The lines about one call each daemon wrote, by the request id bound to them. */
function hopsOf(c: Cluster, node: string, requestId: string): Record<'api' | 'db' | 'worker' | 'miniworker', Line[]> {
  const onNode = linesOf(c.workers.get(node)!, requestId);
  return {
    api: linesOf(c.api, requestId),
    db: linesOf(c.db, requestId),
    worker: onNode.filter((l) => l['daemon'] === 'worker'),
    miniworker: onNode.filter((l) => l['daemon'] === 'miniworker'),
  };
}

/** What each daemon says about a call that ran to DONE: its whole path, accepted to stored. */
const PATH: Record<'api' | 'db' | 'worker' | 'miniworker', ((lines: Line[]) => boolean)[]> = {
  api: [
    said('call accepted'),
    // Queued at once, or again once it leaves HELD or is run again.
    (lines) => lines.some((l) => l['msg'] === 'call queued' || l['msg'] === 'call queued again'),
    said('call dispatched'),
    (lines) => lines.some((l) => l['msg'] === 'call ended' && l['status'] === 'DONE'),
  ],
  // A short sync call is stored once, created and ended; a longer one is stored, then updated.
  db: [said('call stored'), (lines) => lines.some((l) => (l['msg'] === 'call update stored' || l['msg'] === 'call stored') && l['status'] === 'DONE')],
  worker: [said('call received'), said('call handed to a miniworker'), said('call finished; reported')],
  miniworker: [(lines) => lines.some((l) => l['msg'] === 'sandbox made' || l['msg'] === 'warm sandbox used'), said('call started'), said('call finished')],
};

function said(msg: string): (lines: Line[]) => boolean {
  return (lines) => lines.some((l) => l['msg'] === msg);
}

/** Every hop of the call's path logged under its request id, each of those lines naming the call. */
async function expectTraced(c: Cluster, node: string, requestId: string, callId: string): Promise<void> {
  const missing = (): string[] => {
    const hops = hopsOf(c, node, requestId);
    return Object.entries(PATH).flatMap(([daemon, checks]) =>
      checks.flatMap((check, i) => (check(hops[daemon as keyof typeof hops]) ? [] : [`${daemon}#${i + 1}`])),
    );
  };
  await waitUntil(() => missing().length === 0, `every daemon logged the path of the call of request ${requestId}`).catch((err: unknown) => {
    throw new Error(`${String(err)}; missing: ${missing().join(', ')}; seen: ${JSON.stringify(Object.fromEntries(Object.entries(hopsOf(c, node, requestId)).map(([d, lines]) => [d, msgs(lines)])))}`);
  });
  const hops = hopsOf(c, node, requestId);
  for (const line of [...hops.api, ...hops.db, ...hops.worker, ...hops.miniworker]) expect(line['callId'], JSON.stringify(line)).toBe(callId);
}

describe('a request id across every hop of a call', () => {
  let c: Cluster;
  const fake = nodeId('fake');
  beforeAll(async () => {
    c = await startCluster();
    await c.startWorker(fake, { FERRY_DRIVER: 'fake', FERRY_MAX_CONTAINERS: '2', FERRY_FAKE_DELAY_MS: '5' });
    expect((await http('POST', `${c.url}/v1/runtimes`, unrunnable)).status).toBe(201);
    const b = await makeBundle(c.dir, 'ri-echo', { 'main.sh': 'echo "this must never run" >&2; exit 3\n' });
    expect((await upload(`${c.url}/v1/functions/ri-echo`, b.file, { runtime: unrunnable.name })).status).toBe(201);
  });
  afterAll(async () => {
    await c?.close();
  });

  it("the caller's x-request-id is answered, kept on the call, and on the api's, db's, worker's and miniworker's lines for it", async () => {
    const requestId = `ri-caller-${Math.random().toString(36).slice(2, 10)}`;
    const r = await http<Call>('POST', `${c.url}/v1/functions/ri-echo/invoke?wait=true`, { n: 1 }, { 'x-request-id': requestId });
    expect(r.status, r.text).toBe(200);
    expect(r.headers.get('x-request-id')).toBe(requestId);
    expect(r.body.requestId).toBe(requestId);
    const shown = await http<Call>('GET', `${c.url}/v1/calls/${r.body.id}`);
    expect(shown.body.requestId).toBe(requestId);
    await expectTraced(c, fake, requestId, r.body.id);
  });

  it('without the header the api makes an id, answers it, and it follows the call the same way', async () => {
    const r = await http<{ id: string }>('POST', `${c.url}/v1/functions/ri-echo/invoke`, { n: 2 });
    expect(r.status, r.text).toBe(202);
    const made = r.headers.get('x-request-id');
    expect(made).toMatch(/^[A-Za-z0-9]{16}$/);
    await expectTraced(c, fake, made!, r.body.id);
    expect((await http<Call>('GET', `${c.url}/v1/calls/${r.body.id}`)).body.requestId).toBe(made);
  });

  it('a bad x-request-id (spaces, too long) is replaced by a new one, not refused', async () => {
    for (const bad of ['two words', 'x'.repeat(129), '<script>']) {
      const r = await http<{ id: string }>('POST', `${c.url}/v1/functions/ri-echo/invoke`, { bad }, { 'x-request-id': bad });
      expect(r.status, r.text).toBe(202);
      const made = r.headers.get('x-request-id');
      expect(made).toMatch(/^[A-Za-z0-9]{16}$/);
      await expectTraced(c, fake, made!, r.body.id);
      expect((await http<Call>('GET', `${c.url}/v1/calls/${r.body.id}`)).body.requestId).toBe(made);
      expect(c.api.logs.some((l) => l['requestId'] === bad)).toBe(false);
    }
  });

  it('a call run again keeps the request id that made it, not that of the request running it again', async () => {
    const requestId = `ri-held-${Math.random().toString(36).slice(2, 10)}`;
    const held = await http<{ id: string }>('POST', `${c.url}/v1/functions/ri-echo/invoke?hold=true`, {}, { 'x-request-id': requestId });
    expect(held.status, held.text).toBe(202);
    expect((await http('POST', `${c.url}/v1/calls/${held.body.id}/cancel`)).status).toBe(200);
    const again = await http<Call>('POST', `${c.url}/v1/calls/${held.body.id}/retry`, undefined, { 'x-request-id': 'ri-retry-request' });
    expect(again.status, again.text).toBe(200);
    expect(again.headers.get('x-request-id')).toBe('ri-retry-request');
    await expectTraced(c, fake, requestId, held.body.id);
    expect((await http<Call>('GET', `${c.url}/v1/calls/${held.body.id}`)).body).toMatchObject({ status: 'DONE', attempt: 2, requestId });
    expect(c.workers.get(fake)!.logs.some((l) => l['requestId'] === 'ri-retry-request')).toBe(false);
  });

  it("a run's calls carry the request id that made the run, a session's calls that of their append", async () => {
    const runRequest = `ri-run-${Math.random().toString(36).slice(2, 10)}`;
    const run = await http<{ id: string }>('POST', `${c.url}/v1/functions/ri-echo/runs`, { times: 3, params: {} }, { 'x-request-id': runRequest });
    expect(run.status, run.text).toBe(201);
    expect(run.headers.get('x-request-id')).toBe(runRequest);
    await waitUntil(async () => (await http<{ status: string }>('GET', `${c.url}/v1/runs/${run.body.id}`)).body.status === 'COMPLETE', `run ${run.body.id} is COMPLETE`);
    const details = await http<{ details: { callId: string }[] }>('GET', `${c.url}/v1/runs/${run.body.id}/details`);
    const calls = await Promise.all(details.body.details.map(async (d) => (await http<Call>('GET', `${c.url}/v1/calls/${d.callId}`)).body));
    expect(calls.map((call) => [call.status, call.requestId])).toEqual([['DONE', runRequest], ['DONE', runRequest], ['DONE', runRequest]]);

    const session = await http<{ id: string }>('POST', `${c.url}/v1/sessions`, undefined, { 'x-request-id': 'ri-session-made' });
    expect(session.status, session.text).toBe(201);
    const appendRequest = `ri-append-${Math.random().toString(36).slice(2, 10)}`;
    const appended = await http<{ ids: string[] }>('POST', `${c.url}/v1/sessions/${session.body.id}/calls`, [{ function: 'ri-echo' }], { 'x-request-id': appendRequest });
    expect(appended.status, appended.text).toBe(201);
    expect((await http('POST', `${c.url}/v1/sessions/${session.body.id}/start`)).status).toBe(200);
    const callId = appended.body.ids[0]!;
    await expectTraced(c, fake, appendRequest, callId);
    expect((await http<Call>('GET', `${c.url}/v1/calls/${callId}`)).body.requestId).toBe(appendRequest);
  });
});

describe('a request id on a Docker node', () => {
  let c: Cluster;
  const docker = nodeId('docker');
  beforeAll(async () => {
    c = await startCluster();
    await c.startWorker(docker);
    const agent = { name: 'ri-py-agent', image: 'pythonruntime', path: '/ws', run: 'main.py', protocol: 'agent' };
    expect((await http('POST', `${c.url}/v1/runtimes`, agent)).status).toBe(201);
    const ok = await makeBundle(c.dir, 'ri-ok', await fixture('ok'));
    expect((await upload(`${c.url}/v1/functions/ri-ok`, ok.file, { runtime: agent.name, timeoutMs: '20000' })).status).toBe(201);
  });
  afterAll(async () => {
    await c?.close();
  });

  it('follows a call into its container and back, made cold and then used warm', async () => {
    for (const [n, made] of [[1, 'sandbox made'], [2, 'warm sandbox used']] as const) {
      const requestId = `ri-docker-${n}-${Math.random().toString(36).slice(2, 10)}`;
      const r = await http<Call>('POST', `${c.url}/v1/functions/ri-ok/invoke?wait=true`, { n }, { 'x-request-id': requestId });
      expect(r.status, r.text).toBe(200);
      expect(r.body).toMatchObject({ status: 'DONE', requestId, workerId: docker });
      expect(r.headers.get('x-request-id')).toBe(requestId);
      await expectTraced(c, docker, requestId, r.body.id);
      expect(msgs(hopsOf(c, docker, requestId).miniworker)).toContain(made);
    }
  });
});
