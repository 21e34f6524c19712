import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallView } from '../../shared/protocol/call-view.js';
import type { Execution } from '../../shared/protocol/execution.js';
import type { NodeView } from '../../shared/protocol/node-view.js';
import { makeBundle } from '../helpers/bundles.js';
import { fixture } from '../helpers/fixtures.js';
import { http, upload } from '../helpers/http.js';
import { netnsUnavailable, startNetnsCluster, type NetnsCluster } from '../helpers/netns-cluster.js';
import { waitUntil } from '../helpers/temp.js';

/**
 * Ferry on five hosts made of network namespaces by `deploy/netns-cluster.sh` (the README's
 * multi-host walkthrough, step by step): api + db, registry, three workers, each with its own
 * address and data folder, CurveZMQ keys handed over through the env files. Bundles reach the
 * workers only over the wire. The workers run calls in Docker: a namespace changes the network
 * only, and the worker reaches dockerd through its socket file.
 */
const unavailable = netnsUnavailable();
const runtime = { name: 'py-agent', image: 'pythonruntime', path: '/ws', run: 'main.py', protocol: 'agent' };
const SLEEP_MS = 400;

interface Attempted {
  attempt: number;
  executionId: string;
}

async function invokeMany(c: NetnsCluster, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await http<{ id: string }>('POST', `${c.url}/v1/functions/sleeper/invoke`, { ms: SLEEP_MS, i });
    expect(r.status).toBe(202);
    ids.push(r.body.id);
  }
  return ids;
}

async function callsOf(c: NetnsCluster, ids: string[]): Promise<CallView[]> {
  return Promise.all(ids.map(async (id) => (await http<CallView>('GET', `${c.url}/v1/calls/${id}`)).body));
}

/** A call with every one of its executions. */
async function withExecutions(c: NetnsCluster, call: CallView): Promise<CallView & { executions: Execution[] }> {
  return { ...call, executions: (await http<{ executions: Execution[] }>('GET', `${c.url}/v1/calls/${call.id}/executions`)).body.executions };
}

const nodeOf = (call: CallView): string | null => call.currentExecution?.nodeId ?? call.workerId;

async function allEnded(c: NetnsCluster, ids: string[]): Promise<CallView[]> {
  let calls: CallView[] = [];
  await waitUntil(
    async () => {
      calls = await callsOf(c, ids);
      return calls.every((x) => x.status !== 'PENDING' && x.status !== 'RUNNING');
    },
    `all ${ids.length} calls have ended`,
    60_000,
  );
  return calls;
}

async function nodeIds(c: NetnsCluster): Promise<string[]> {
  return (await http<{ nodes: NodeView[] }>('GET', `${c.url}/v1/nodes`)).body.nodes.map((n) => n.nodeId);
}

describe.skipIf(unavailable !== null)(`Ferry on several hosts (network namespaces)${unavailable ? ` — skipped: ${unavailable}` : ''}`, () => {
  let c: NetnsCluster;
  let bundleSha256 = '';

  beforeAll(async () => {
    // A node silent for 3 heartbeats is lost: at 250 ms its calls are requeued within a second
    // of the cut. Two containers a node, so a few calls fill every host.
    c = await startNetnsCluster({ workers: 3, settings: { FERRY_HEARTBEAT_MS: '250', FERRY_MAX_CONTAINERS: '2' } });
    expect((await http('POST', `${c.url}/v1/runtimes`, runtime)).status).toBe(201);
    const bundle = await makeBundle(c.dir, 'sleeper', await fixture('sleep-attempt'));
    bundleSha256 = bundle.sha256;
    expect((await upload(`${c.url}/v1/functions/sleeper`, bundle.file, { runtime: runtime.name })).status).toBe(201);
  }, 120_000);

  afterAll(async () => {
    await c?.close();
  }, 60_000);

  it('calls spread over the three worker hosts, each fetching the bundle from the registry host', async () => {
    const ids = await invokeMany(c, 24);
    const calls = await allEnded(c, ids);
    expect(calls.map((x) => x.status)).toEqual(Array(24).fill('DONE'));
    const listed = (await http<{ calls: CallView[] }>('GET', `${c.url}/v1/calls?funcName=sleeper&limit=100`)).body.calls;
    const byNode = new Map<string, number>();
    for (const call of listed) byNode.set(nodeOf(call) ?? '-', (byNode.get(nodeOf(call) ?? '-') ?? 0) + 1);
    for (const host of ['w1', 'w2', 'w3'] as const) expect(byNode.get(c.nodeId(host)) ?? 0, `calls run by ${host}`).toBeGreaterThan(0);
    // No folder is shared between hosts: each worker host's copy of the code came from the registry over ZeroMQ.
    for (const host of ['w1', 'w2', 'w3'] as const) {
      expect(existsSync(path.join(c.dir, host, 'data', `worker-${c.nodeId(host)}`, 'code', bundleSha256)), `the bundle on ${host}`).toBe(true);
    }
  });

  it('a worker host cut off: its calls end DONE elsewhere; back on the network it rejoins and its late reports are fenced off', async () => {
    const cutNode = c.nodeId('w1');
    const ids = await invokeMany(c, 18);
    await waitUntil(async () => (await callsOf(c, ids)).some((x) => x.status === 'RUNNING' && x.workerId === cutNode), 'a call runs on w1');
    await c.sh('cut', 'w1');

    const calls = await allEnded(c, ids);
    expect(calls.map((x) => x.status)).toEqual(Array(18).fill('DONE'));
    const moved = (await Promise.all(calls.map((x) => withExecutions(c, x)))).filter((x) => x.executions.some((e) => e.nodeId === cutNode && e.state === 'LOST'));
    expect(moved.length, 'calls requeued off the cut host').toBeGreaterThan(0);
    for (const call of moved) {
      expect(nodeOf(call)).not.toBe(cutNode);
      expect(call.attempt).toBeGreaterThan(1);
      expect((JSON.parse(String(call.result)) as Attempted).attempt).toBe(call.attempt);
    }
    const apiLog = await c.logLines('api', 'api');
    expect(apiLog.some((l) => l['msg'] === 'node lost' && l['nodeId'] === cutNode)).toBe(true);
    expect(await nodeIds(c)).not.toContain(cutNode);

    await c.sh('restore', 'w1');
    await waitUntil(async () => (await nodeIds(c)).includes(cutNode), 'w1 is listed again', 60_000);
    // Calls w1 had started before the cut ran to their end there: their reports come in late.
    const ranThere = moved.filter((x) => x.executions.some((e) => e.nodeId === cutNode && e.attempt === 1 && e.startedAt));
    expect(ranThere.length, 'calls w1 had started').toBeGreaterThan(0);
    const fenced = async (): Promise<Set<string>> =>
      new Set((await c.logLines('api', 'api')).filter((l) => l['msg'] === 'stale report dropped').map((l) => String(l['callId'])));
    await waitUntil(async () => {
      const dropped = await fenced();
      return ranThere.every((x) => dropped.has(x.id));
    }, "w1's late reports of every call it had started are dropped", 30_000);
    // They changed nothing: each call keeps the end of the attempt that ran elsewhere.
    const after = await Promise.all((await callsOf(c, moved.map((x) => x.id))).map((x) => withExecutions(c, x)));
    expect(after.map((x) => [x.status, x.attempt, nodeOf(x), x.result])).toEqual(moved.map((x) => [x.status, x.attempt, nodeOf(x), x.result]));
    for (const call of after) expect(call.executions.find((e) => e.nodeId === cutNode)?.state).toBe('LOST');

    // And it takes calls again.
    const again = await allEnded(c, await invokeMany(c, 12));
    expect(again.map((x) => x.status)).toEqual(Array(12).fill('DONE'));
  }, 120_000);
});
