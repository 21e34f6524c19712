import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkerCluster, type WorkerCluster } from '../helpers/worker-cluster.js';
import { finalOf } from '../helpers/fake-api.js';
import { fixture } from '../helpers/fixtures.js';

const runtimes = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../runtimes');
const dice = async (): Promise<Record<string, string>> => ({
  'test.py': await readFile(path.join(runtimes, 'python/dice/test.py'), 'utf8'),
});
const rt = (protocol: 'exec' | 'agent', image: string, run: string) => ({ name: image, image, path: '/ws', dependencies: '', run, protocol });

// The process driver runs functions as host processes: the path a node without Docker takes.
describe('worker with the process driver (real daemons, host python3 and node)', () => {
  let c: WorkerCluster;
  beforeAll(async () => {
    c = await startWorkerCluster({ FERRY_DRIVER: 'process', FERRY_MAX_CONTAINERS: '4' });
  });
  afterAll(async () => c?.close());

  it('says which driver it uses at start and in its hello', async () => {
    const hello = await c.api.waitFor((m) => m.msgType === 'hello', 'hello');
    expect(hello.content).toMatchObject({ nodeId: c.nodeId, driver: 'process', capacity: { maxContainers: 4 } });
    expect(c.worker.logs.some((l) => l['driver'] === 'process' && l['isolation'] === 'processes inside bubblewrap')).toBe(true);
  });

  it('runs an exec call: params on stdin, stdout is the result', async () => {
    const b = await c.push('dice', await dice());
    c.api.dispatch(c.nodeId, c.call({ callId: 'p-exec', ...b, runtime: rt('exec', 'pythonruntime', 'python3 test.py'), params: { roll: '4d6' } }));
    const done = await c.api.finished('p-exec');
    expect(done.msgType).toBe('finished');
    const content = finalOf(done) as { status: string; result: string };
    expect(content.status).toBe('DONE');
    const rolls = JSON.parse(content.result) as number[];
    expect(rolls).toHaveLength(4);
    expect(rolls.every((r) => r >= 1 && r <= 6)).toBe(true);
  });

  it('runs agent calls in python and node, with progress reported while running', async () => {
    const b = await c.push('dice-agent', await dice());
    c.api.dispatch(c.nodeId, c.call({ callId: 'p-agent-py', ...b, runtime: rt('agent', 'pythonruntime', 'test.py'), params: { roll: '2d20' } }));
    const py = await c.api.finished('p-agent-py');
    expect(finalOf(py)).toMatchObject({ status: 'DONE' });
    expect(JSON.parse((finalOf(py) as { result: string }).result)).toHaveLength(2);
    expect(c.api.received.some((m) => m.msgType === 'progress' && m.content.callId === 'p-agent-py' && m.content.progress === 1)).toBe(true);

    const hello = await readFile(path.join(runtimes, 'node/hello/index.js'), 'utf8');
    const nb = await c.push('hello', { 'index.js': hello });
    c.api.dispatch(c.nodeId, c.call({ callId: 'p-agent-node', ...nb, function: 'hello', runtime: rt('agent', 'noderuntime', 'index.js'), params: { name: 'Ada' } }));
    const node = await c.api.finished('p-agent-node');
    expect(finalOf(node)).toMatchObject({ status: 'DONE', result: '{"hello":"Ada"}' });
  });

  it('kills a call at its timeout and keeps a failing call\'s stderr', async () => {
    const b = await c.push('misc', { 'slow.sh': 'sleep 30', 'fail.sh': 'echo partial; echo "it broke" >&2; exit 1' });
    c.api.dispatch(c.nodeId, c.call({ callId: 'p-slow', ...b, runtime: rt('exec', 'shell', 'sh slow.sh'), timeoutMs: 500 }));
    c.api.dispatch(c.nodeId, c.call({ callId: 'p-fail', ...b, runtime: rt('exec', 'shell', 'sh fail.sh') }));
    const slow = await c.api.finished('p-slow');
    expect(finalOf(slow)).toMatchObject({ status: 'TIMEOUT', error: { code: 'TIMEOUT' } });
    const fail = await c.api.finished('p-fail');
    expect(finalOf(fail)).toMatchObject({ status: 'ERROR', error: { code: 'FUNCTION_ERROR' }, logs: { stdout: 'partial\n', stderr: 'it broke\n' } });
    expect((finalOf(fail) as { error: { message: string } }).error.message).toContain('it broke');
  });
});

describe('process driver isolation', () => {
  it('gives calls no network: only a loopback interface inside bubblewrap', async () => {
    const c = await startWorkerCluster({ FERRY_DRIVER: 'process' });
    try {
      const b = await c.push('net', { 'net.sh': "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '" });
      c.api.dispatch(c.nodeId, c.call({ callId: 'net', ...b, runtime: rt('exec', 'shell', 'sh net.sh') }));
      const net = await c.api.finished('net');
      expect(finalOf(net)).toMatchObject({ status: 'DONE', result: 'lo' });
    } finally {
      await c.close();
    }
  });
});

describe('process driver: a function reads its own call and can fail for good', () => {
  let c: WorkerCluster;
  // A node id of its own, as every worker under test here gets (see worker-call-context.test.ts).
  beforeAll(async () => {
    c = await startWorkerCluster({ FERRY_DRIVER: 'process', FERRY_NODE_ID: `ag-proc-${Math.random().toString(36).slice(2, 8)}` });
  });
  afterAll(async () => c?.close());

  it('gives an exec function FERRY_CALL_ID, FERRY_EXECUTION_ID and FERRY_ATTEMPT', async () => {
    const b = await c.push('call-context', await fixture('call-context'));
    c.api.dispatch(c.nodeId, c.call({ callId: 'p-ctx', attempt: 2, ...b, runtime: rt('exec', 'shell', 'sh main.sh'), params: { n: 3 } }));
    const done = finalOf(await c.api.finished('p-ctx', 2)) as { status: string; result: string };
    expect(done.status).toBe('DONE');
    expect(JSON.parse(done.result)).toEqual({ callId: 'p-ctx', executionId: 'p-ctx.2', attempt: 2, params: { n: 3 } });
  });

  it('gives agents the call in ctx, in python and node', async () => {
    const b = await c.push('call-context', await fixture('call-context'));
    c.api.dispatch(c.nodeId, c.call({ callId: 'p-ctx-py', attempt: 2, ...b, function: 'ctx-py', runtime: rt('agent', 'pythonruntime', 'main.py'), params: 'a' }));
    c.api.dispatch(c.nodeId, c.call({ callId: 'p-ctx-node', attempt: 3, ...b, function: 'ctx-node', runtime: rt('agent', 'noderuntime', 'index.js'), params: 'b' }));
    const py = finalOf(await c.api.finished('p-ctx-py', 2)) as { result: string };
    expect(JSON.parse(py.result)).toEqual({ callId: 'p-ctx-py', executionId: 'p-ctx-py.2', attempt: 2, params: 'a' });
    const node = finalOf(await c.api.finished('p-ctx-node', 3)) as { result: string };
    expect(JSON.parse(node.result)).toEqual({ callId: 'p-ctx-node', executionId: 'p-ctx-node.3', attempt: 3, params: 'b' });
  });

  it('marks Final, ctx.Final and ##ferry final failures final, and a plain failure not', async () => {
    const b = await c.push('final', await fixture('final'));
    const runtimes = {
      'p-final-exec': rt('exec', 'shell', 'sh main.sh'),
      'p-final-py': rt('agent', 'pythonruntime', 'main.py'),
      'p-final-node': rt('agent', 'noderuntime', 'index.js'),
    };
    for (const [callId, runtime] of Object.entries(runtimes)) c.api.dispatch(c.nodeId, c.call({ callId, function: callId, ...b, runtime }));
    for (const callId of Object.keys(runtimes)) {
      expect(finalOf(await c.api.finished(callId))).toMatchObject({ status: 'ERROR', error: { code: 'FUNCTION_ERROR', final: true } });
    }
    const plain = await c.push('plain', { 'fail.sh': 'echo "##ferry final extra words" >&2; exit 1' });
    c.api.dispatch(c.nodeId, c.call({ callId: 'p-plain', ...plain, runtime: rt('exec', 'shell', 'sh fail.sh') }));
    const out = finalOf(await c.api.finished('p-plain')) as { status: string; error: object; logs: { stderr: string } };
    expect(out.status).toBe('ERROR');
    expect(out.error).not.toHaveProperty('final');
    expect(out.logs.stderr).toBe('##ferry final extra words\n');
  });
});

describe('process driver confinement (bubblewrap)', () => {
  let c: WorkerCluster;
  beforeAll(async () => {
    c = await startWorkerCluster({ FERRY_DRIVER: 'process', FERRY_NODE_ID: `sb-proc-${Math.random().toString(36).slice(2, 8)}`, FERRY_TMP_MB: '8' });
  });
  afterAll(async () => c?.close());

  it('says loudly at start, in one warning, each limit it does not enforce', async () => {
    const warnings = c.worker.logs.filter((l) => l['level'] === 40 && Array.isArray(l['notEnforced']));
    expect(warnings).toHaveLength(1);
    const notEnforced = warnings[0]!['notEnforced'] as string[];
    expect(notEnforced.some((w) => w.startsWith('a CPU limit'))).toBe(true);
    expect(notEnforced.some((w) => w.startsWith('a pids limit'))).toBe(true);
    expect(notEnforced.some((w) => w.startsWith('a hard memory limit'))).toBe(true);
    expect(warnings[0]!['msg']).toContain('calls on this node run WITHOUT: a CPU limit');
  });

  it('runs exec and agent calls as an unprivileged user, the host and code read-only, writing only to a size-limited /tmp', async () => {
    const b = await c.push('sandbox-report', await fixture('sandbox-report'));
    const runtimes = { 'p-report-exec': rt('exec', 'pythonruntime', 'python3 main.py'), 'p-report-agent': rt('agent', 'pythonruntime', 'main.py') };
    for (const [callId, runtime] of Object.entries(runtimes)) {
      c.api.dispatch(c.nodeId, c.call({ callId, function: callId, ...b, runtime, params: { fillTmpMb: 16 } }));
      const done = finalOf(await c.api.finished(callId)) as { status: string; result: string };
      expect(done.status).toBe('DONE');
      expect(JSON.parse(done.result)).toMatchObject({ uid: 65534, gid: 65534, writeRoot: 'EROFS', writeCode: 'EROFS', writeTmp: 'ok', fillTmp: 'ENOSPC' });
    }
  });
});
