import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallSummary, ClusterStatsView } from '../../shared/protocol/cluster-view.js';
import type { ApiKeyView } from '../../shared/protocol/api-key.js';
import type { Call } from '../../shared/protocol/domain.js';
import { makeBundle } from '../helpers/bundles.js';
import { fixture } from '../helpers/fixtures.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { http, upload } from '../helpers/http.js';
import { everyPage } from '../helpers/pages.js';
import { readEvents, type SseEvent } from '../helpers/sse.js';
import { waitUntil } from '../helpers/temp.js';

/**
 * The monitoring routes a dashboard is built on (/v1/events, the /v1/calls filters, /v1/stats) on
 * a real cluster of fake nodes. Every node id starts with `da-`, so nothing here can be taken for
 * another test's node.
 */
const nodeId = (what: string): string => `da-${what}-${Math.random().toString(36).slice(2, 8)}`;

/** A runtime no node could run for real: on a fake node that does not matter. */
const unrunnable = { name: 'da-nowhere', image: 'ferry-test/never-built', path: '/ws', run: 'sh main.sh', protocol: 'exec' };
/**
 * Calls read at most per list request: small, so a search over a few dozen calls pages. The time
 * bound is out of the way (a minute), so each page cut short reads exactly this many.
 */
const SCAN_MAX = 40;

type CallWithExecution = Call & { currentExecution: { nodeId: string | null } | null };
type Page = { calls: Call[]; nextCursor: string | null; scanned: number };

async function deploy(c: Cluster, name: string, fields: Record<string, string> = {}): Promise<void> {
  const b = await makeBundle(c.dir, name, { 'main.sh': 'cat\n' });
  const r = await upload(`${c.url}/v1/functions/${name}`, b.file, { runtime: unrunnable.name, ...fields });
  expect(r.status, r.text).toBe(201);
}

async function invokeAndWait(c: Cluster, fn: string, params: unknown): Promise<CallWithExecution> {
  const r = await http<CallWithExecution>('POST', `${c.url}/v1/functions/${fn}/invoke?wait=true`, params);
  expect(r.status, r.text).toBe(200);
  return r.body;
}

async function stats(c: Cluster, query = 'windowSecs=3600&stepSecs=60', headers: Record<string, string> = {}): Promise<ClusterStatsView> {
  const r = await http<ClusterStatsView>('GET', `${c.url}/v1/stats?${query}`, undefined, headers);
  expect(r.status, r.text).toBe(200);
  return r.body;
}

const sum = (s: ClusterStatsView, field: 'started' | 'ended' | 'failed'): number => s.series.reduce((n, step) => n + step[field], 0);
const ids = (calls: { id: string }[]): string[] => calls.map((call) => call.id);
/** Ids of `calls`, newest first: the order every listing answers in. */
const newestFirst = (calls: Call[]): string[] => ids([...calls].sort((a, b) => b.callNum - a.callNum));

describe('dashboard routes on fake nodes', () => {
  let c: Cluster;
  const nodes = [nodeId('a'), nodeId('b')];

  beforeAll(async () => {
    c = await startCluster({ logLevel: 'info', env: { FERRY_LIST_SCAN_MAX: String(SCAN_MAX), FERRY_LIST_SCAN_MS: '60000' } });
    // Calls long enough that the node's report of a start is stored before its report of the end.
    for (const node of nodes) await c.startWorker(node, { FERRY_DRIVER: 'fake', FERRY_MAX_CONTAINERS: '4', FERRY_FAKE_DELAY_MS: '100-150' });
    expect((await http('POST', `${c.url}/v1/runtimes`, unrunnable)).status).toBe(201);
    await deploy(c, 'da-echo');
    await deploy(c, 'da-other');
    // The fake delay is at least 100 ms: every call of this one times out.
    await deploy(c, 'da-late', { timeoutMs: '5' });
    await waitUntil(async () => (await http<{ nodes: unknown[] }>('GET', `${c.url}/v1/nodes`)).body.nodes.length === nodes.length, 'both fake nodes are up');
  });
  afterAll(async () => {
    await c?.close();
  });

  it('GET /v1/events shows a call made, running and ending, and only the function asked for', async () => {
    const stop = new AbortController();
    const all: SseEvent[] = [];
    const echoOnly: SseEvent[] = [];
    let open = 0;
    const opened = new Promise<void>((resolve) => {
      const onOpen = (status: number): void => {
        expect(status).toBe(200);
        if ((open += 1) === 2) resolve();
      };
      void readEvents(`${c.url}/v1/events`, (e) => all.push(e), { signal: stop.signal, onOpen });
      void readEvents(`${c.url}/v1/events?funcName=da-echo`, (e) => echoOnly.push(e), { signal: stop.signal, onOpen });
    });
    await opened;
    try {
      const echo = await invokeAndWait(c, 'da-echo', { n: 1 });
      const other = await invokeAndWait(c, 'da-other', { n: 2 });
      const statusesOf = (events: SseEvent[], id: string): string[] =>
        events.filter((e) => e.event === 'call' && (e.data as CallSummary).id === id).map((e) => (e.data as CallSummary).status);
      await waitUntil(() => statusesOf(all, other.id).at(-1) === 'DONE', 'the whole-cluster stream saw the second call end');
      await waitUntil(() => statusesOf(echoOnly, echo.id).at(-1) === 'DONE', 'the filtered stream saw the first call end');
      expect(statusesOf(all, echo.id)).toEqual(['PENDING', 'RUNNING', 'DONE']);
      expect(statusesOf(all, other.id)).toEqual(['PENDING', 'RUNNING', 'DONE']);
      expect(statusesOf(echoOnly, echo.id)).toEqual(['PENDING', 'RUNNING', 'DONE']);
      expect(echoOnly.every((e) => (e.data as CallSummary).funcName === 'da-echo')).toBe(true);
      const done = all.filter((e) => e.event === 'call' && (e.data as CallSummary).id === echo.id).at(-1)!.data as CallSummary;
      expect(done).toEqual({
        id: echo.id,
        callNum: echo.callNum,
        funcName: 'da-echo',
        version: 1,
        status: 'DONE',
        sessionId: null,
        groupId: null,
        nodeId: echo.currentExecution?.nodeId,
        createdAt: echo.createdAt,
        startedAt: echo.startedAt,
        finishedAt: echo.finishedAt,
        invokedBy: echo.invokedBy,
      });
      expect(nodes).toContain(done.nodeId);
    } finally {
      stop.abort();
    }
  });

  it('filters /v1/calls by node, creation time and text, page by page, while calls keep arriving', async () => {
    const made = await Promise.all(Array.from({ length: 24 }, (_, i) => invokeAndWait(c, 'da-echo', { i, tag: i % 3 === 0 ? 'Needle-X' : 'hay' })));
    const to = Math.max(...made.map((m) => m.createdAt));
    const from = Math.min(...made.map((m) => m.createdAt));
    const ofMade = `from=${from}&to=${to}`;
    // Calls arrive all the while: the bounds and cursors keep each answer to the calls above.
    let arriving = true;
    const arrivals = (async () => {
      while (arriving) expect((await http('POST', `${c.url}/v1/functions/da-echo/invoke`, { tag: 'needle-x, late' })).status).toBe(202);
    })();
    try {
      for (const node of nodes) {
        const listed = await everyPage<Call>(`${c.url}/v1/calls?nodeId=${node}&${ofMade}&limit=3`, 'calls');
        expect(ids(listed)).toEqual(newestFirst(made.filter((m) => m.currentExecution?.nodeId === node)));
      }
      const byTime = [...made].sort((a, b) => a.createdAt - b.createdAt);
      const since = byTime[5]!.createdAt;
      const until = byTime[15]!.createdAt;
      const inWindow = await everyPage<Call>(`${c.url}/v1/calls?funcName=da-echo&from=${since}&to=${until}&limit=4`, 'calls');
      expect(ids(inWindow)).toEqual(newestFirst(made.filter((m) => m.createdAt >= since && m.createdAt <= until)));

      const found = await everyPage<Call>(`${c.url}/v1/calls?q=needle-x&${ofMade}&limit=3`, 'calls');
      expect(ids(found)).toEqual(newestFirst(made.filter((m) => (m.params as { tag: string }).tag === 'Needle-X')));
      const onNode = await everyPage<Call>(`${c.url}/v1/calls?q=NEEDLE&nodeId=${nodes[0]}&${ofMade}&limit=2`, 'calls');
      expect(ids(onNode)).toEqual(newestFirst(made.filter((m) => (m.params as { tag: string }).tag === 'Needle-X' && m.currentExecution?.nodeId === nodes[0])));
    } finally {
      arriving = false;
      await arrivals;
    }

    const one = made[7]!;
    for (const q of [one.id, String(one.callNum)]) {
      const r = await http<Page>('GET', `${c.url}/v1/calls?q=${q}`);
      expect(r.status, r.text).toBe(200);
      expect({ q, ids: ids(r.body.calls), nextCursor: r.body.nextCursor }).toEqual({ q, ids: [one.id], nextCursor: null });
    }
    const dead = await http<Page>('GET', `${c.url}/v1/dead-letters?nodeId=${nodes[0]}&q=needle`);
    expect(dead.status, dead.text).toBe(200);
    expect(dead.body.calls).toEqual([]);
  });

  it('pages a text search over more calls than one request reads, each page saying how many it read', async () => {
    const needle = await invokeAndWait(c, 'da-other', { tag: 'one-in-a-haystack' });
    const run = await http<{ id: string }>('POST', `${c.url}/v1/functions/da-other/runs`, { times: 3 * SCAN_MAX, params: { tag: 'straw' } });
    expect(run.status, run.text).toBe(201);
    await waitUntil(async () => (await http<{ status: string }>('GET', `${c.url}/v1/runs/${run.body.id}`)).body.status === 'COMPLETE', 'the run is complete', 60_000);

    const pages: Page[] = [];
    let cursor: string | null = null;
    do {
      const r: { status: number; text: string; body: Page } = await http<Page>('GET', `${c.url}/v1/calls?funcName=da-other&q=HAYSTACK&limit=10${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.status, r.text).toBe(200);
      pages.push(r.body);
      cursor = r.body.nextCursor;
    } while (cursor);
    expect(pages.flatMap((p) => ids(p.calls))).toEqual([needle.id]);
    expect(pages.length).toBeGreaterThanOrEqual(3);
    // Every page but the last read as many calls as it may; the first answers nothing yet, and says where to go on.
    expect(pages.slice(0, -1).map((p) => p.scanned)).toEqual(pages.slice(0, -1).map(() => SCAN_MAX));
    expect(pages[0]).toMatchObject({ calls: [], scanned: SCAN_MAX });
    expect(pages.reduce((n, p) => n + p.scanned, 0)).toBeGreaterThanOrEqual(3 * SCAN_MAX + 1);

    const bad = await http<{ error: { code: string } }>('GET', `${c.url}/v1/calls?from=20&to=10`);
    expect({ status: bad.status, code: bad.body.error.code }).toEqual({ status: 400, code: 'BAD_REQUEST' });
  });

  it('GET /v1/stats counts calls as they start, end and fail, and keeps the history across an api restart', async () => {
    // Calls of the tests before may still be on their way: the counts below move by these alone.
    for (const status of ['PENDING', 'RUNNING']) {
      await waitUntil(async () => (await http<Page>('GET', `${c.url}/v1/calls?status=${status}&limit=1`)).body.calls.length === 0, `no call is ${status}`, 30_000);
    }
    const before = await stats(c);
    expect(before.nodesUp).toBe(nodes.length);
    expect(before.series).toHaveLength(60);
    expect(before.series.at(-1)!.t).toBeLessThanOrEqual(before.now);
    expect(before.series.at(-1)!.t + 60_000).toBeGreaterThan(before.now);

    const ok = await Promise.all(Array.from({ length: 6 }, (_, i) => invokeAndWait(c, 'da-echo', { stats: i })));
    const late = await invokeAndWait(c, 'da-late', { stats: 'late' });
    expect(late.status).toBe('TIMEOUT');

    let after!: ClusterStatsView;
    await waitUntil(async () => sum((after = await stats(c)), 'ended') === sum(before, 'ended') + 7, 'the series counts the 7 ended calls');
    expect(sum(after, 'started') - sum(before, 'started')).toBe(7);
    expect(sum(after, 'failed') - sum(before, 'failed')).toBe(1);
    expect(after.counts.DONE - before.counts.DONE).toBe(6);
    expect(after.counts.TIMEOUT - before.counts.TIMEOUT).toBe(1);
    expect(after.recentFailures[0]).toMatchObject({ id: late.id, status: 'TIMEOUT', funcName: 'da-late' });
    const lastStep = after.series.find((step) => step.t <= late.finishedAt! && late.finishedAt! < step.t + 60_000)!;
    expect(lastStep.p50Ms).not.toBeNull();
    expect(lastStep.p50Ms!).toBeLessThanOrEqual(lastStep.p99Ms!);
    expect(ok.every((call) => call.status === 'DONE')).toBe(true);

    await c.restart('api');
    await waitUntil(async () => (await stats(c)).nodesUp === nodes.length, 'both nodes are back on the new api', 30_000);
    const restarted = await stats(c);
    // The steps both answers cover are the same: nothing ran meanwhile.
    const lastBefore = after.series.at(-1)!.t;
    expect(restarted.series.filter((step) => step.t <= lastBefore)).toEqual(after.series.filter((step) => step.t >= restarted.series[0]!.t));
    expect(restarted.counts).toEqual(after.counts);
    expect(ids(restarted.recentFailures)).toEqual(ids(after.recentFailures));

    const fine = await stats(c, 'windowSecs=600&stepSecs=10');
    expect(fine.series).toHaveLength(60);
    expect(sum(fine, 'ended')).toBeGreaterThanOrEqual(7);
    for (const query of ['stepSecs=15', 'windowSecs=60&stepSecs=120', 'windowSecs=604800&stepSecs=10', 'windowSecs=abc']) {
      const r = await http<{ error: { code: string } }>('GET', `${c.url}/v1/stats?${query}`);
      expect({ query, status: r.status, code: r.body.error.code }).toEqual({ query, status: 400, code: 'BAD_REQUEST' });
    }
  });

  it('lets a reader key read the new routes, refuses them without a key, and gives an invoker no more than before', async () => {
    const makeKey = async (role: string): Promise<string> => {
      const r = await http<ApiKeyView & { key: string }>('POST', `${c.url}/v1/keys`, { role, name: `da ${role}` });
      expect(r.status, r.text).toBe(201);
      return r.body.key;
    };
    const reader = { authorization: `Bearer ${await makeKey('reader')}` };
    const invoker = { authorization: `Bearer ${await makeKey('invoker')}` };
    const none = { authorization: '' };

    for (const [who, headers] of [['reader', reader], ['invoker', invoker]] as const) {
      expect({ who, status: (await http('GET', `${c.url}/v1/stats`, undefined, headers)).status }).toEqual({ who, status: 200 });
      expect({ who, status: (await http('GET', `${c.url}/v1/calls?q=needle&nodeId=${nodes[0]}`, undefined, headers)).status }).toEqual({ who, status: 200 });
      const stop = new AbortController();
      const status = await new Promise<number>((resolve) => void readEvents(`${c.url}/v1/events`, undefined, { headers, signal: stop.signal, onOpen: resolve }));
      stop.abort();
      expect({ who, status }).toEqual({ who, status: 200 });
    }
    expect((await http('GET', `${c.url}/v1/stats`, undefined, none)).status).toBe(401);
    expect((await readEvents(`${c.url}/v1/events`, undefined, { headers: none })).status).toBe(401);

    expect((await http('POST', `${c.url}/v1/functions/da-echo/invoke`, {}, reader)).status).toBe(403);
    expect((await http('POST', `${c.url}/v1/functions/da-echo/invoke`, {}, invoker)).status).toBe(202);
    const b = await makeBundle(c.dir, 'da-pushed', { 'main.sh': 'cat\n' });
    expect((await upload(`${c.url}/v1/functions/da-pushed`, b.file, { runtime: unrunnable.name }, invoker)).status).toBe(403);
    expect((await http('POST', `${c.url}/v1/keys`, { role: 'reader' }, invoker)).status).toBe(403);
    expect((await http('POST', `${c.url}/v1/runtimes`, { ...unrunnable, name: 'da-other-rt' }, invoker)).status).toBe(403);
  });
});

describe('progress on the cluster event stream (real Docker)', () => {
  let c: Cluster;
  const agentRuntime = { name: 'da-py-agent', image: 'pythonruntime', path: '/ws', run: 'main.py', protocol: 'agent' };

  beforeAll(async () => {
    c = await startCluster();
    await c.startWorker(nodeId('docker'));
    expect((await http('POST', `${c.url}/v1/runtimes`, agentRuntime)).status).toBe(201);
    const b = await makeBundle(c.dir, 'da-progress', await fixture('progress'));
    expect((await upload(`${c.url}/v1/functions/da-progress`, b.file, { runtime: agentRuntime.name })).status).toBe(201);
  });
  afterAll(async () => {
    await c?.close();
  });

  it('sends a call\'s progress coalesced, its latest always, before the call ends', async () => {
    const stop = new AbortController();
    const events: SseEvent[] = [];
    await new Promise<void>((resolve) => void readEvents(`${c.url}/v1/events?funcName=da-progress`, (e) => events.push(e), { signal: stop.signal, onOpen: () => resolve() }));
    try {
      // Thirty reports, one every 100 ms.
      const r = await http<{ id: string }>('POST', `${c.url}/v1/functions/da-progress/invoke`, { seconds: 3 });
      expect(r.status, r.text).toBe(202);
      const isEnd = (e: SseEvent): boolean => e.event === 'call' && (e.data as CallSummary).id === r.body.id && (e.data as CallSummary).status === 'DONE';
      await waitUntil(() => events.some(isEnd), 'the stream told the call ended', 60_000);
      const ofCall = events.filter((e) => (e.data as { id: string }).id === r.body.id);
      const progress = ofCall.filter((e) => e.event === 'progress').map((e) => (e.data as { progress: { current: number; total: number } }).progress);
      expect(progress.length).toBeGreaterThan(1);
      expect(progress.length).toBeLessThan(30);
      expect(progress.map((p) => p.current)).toEqual([...progress.map((p) => p.current)].sort((a, b) => a - b));
      expect(progress.at(-1)).toEqual({ current: 30, total: 30 });
      expect(ofCall.at(-1)).toEqual(events.find(isEnd));
      expect(ofCall.at(-2)!.event).toBe('progress');
    } finally {
      stop.abort();
    }
  });
});
