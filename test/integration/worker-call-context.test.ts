import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dispatch } from '../../shared/protocol/worker-messages.js';
import { finalOf } from '../helpers/fake-api.js';
import { fixture } from '../helpers/fixtures.js';
import { startWorkerCluster, type WorkerCluster } from '../helpers/worker-cluster.js';

const docker = new Docker();
type Runtime = Dispatch['runtime'];
const python = (protocol: 'exec' | 'agent', run: string): Runtime => ({
  name: 'pythonruntime', image: 'pythonruntime', path: '/ws', dependencies: '', run, protocol,
});
const node = (run: string): Runtime => ({ name: 'noderuntime', image: 'noderuntime', path: '/ws', dependencies: '', run, protocol: 'agent' });

interface Outcome {
  status: string;
  result: string;
  error: { code: string; message: string; final?: boolean } | null;
  logs: { stdout: string; stderr: string };
}

/** A node id of its own: the worker removes containers labelled with it when it starts. */
const nodeId = (): string => `ag-ctx-${Math.random().toString(36).slice(2, 8)}`;

async function containersOf(id: string): Promise<number> {
  return (await docker.listContainers({ all: true, filters: { label: [`ferry.node=${id}`] } })).length;
}

type Run = (runtime: Runtime, fixtureName: string, call: { callId: string; attempt?: number; params?: unknown }) => Promise<Outcome>;

/** Runs a fixture as `runtime` on the cluster, as the given attempt of a call, and returns its outcome. */
function caller(c: () => WorkerCluster): Run {
  return async (runtime, fixtureName, { callId, attempt = 1, params = null }) => {
    const cluster = c();
    const bundle = await cluster.push(fixtureName, await fixture(fixtureName));
    cluster.api.dispatch(cluster.nodeId, cluster.call({ callId, attempt, function: fixtureName, ...bundle, runtime, params }));
    const m = await cluster.api.finished(callId, attempt, 60_000);
    expect(m.msgType).toBe('finished');
    return finalOf(m) as unknown as Outcome;
  };
}

const contextOf = (callId: string, attempt: number, params: unknown): Record<string, unknown> => ({
  callId, executionId: `${callId}.${attempt}`, attempt, params,
});

describe('a function reads its own call (Docker driver, warm sandboxes)', () => {
  let c: WorkerCluster;
  const run = caller(() => c);
  beforeAll(async () => {
    c = await startWorkerCluster({ FERRY_DRIVER: 'docker', FERRY_NODE_ID: nodeId(), FERRY_PRELOAD: 'function', FERRY_MAX_CONTAINERS: '2' });
  });
  afterAll(async () => {
    const id = c?.nodeId;
    await c?.close();
    if (id) expect(await containersOf(id)).toBe(0);
  });

  it('python agent: ctx.call_id, ctx.execution_id, ctx.attempt, ctx.params', async () => {
    const out = await run(python('agent', 'main.py'), 'call-context', { callId: 'ctx-py', attempt: 2, params: { roll: '4d6' } });
    expect(out.status).toBe('DONE');
    expect(JSON.parse(out.result)).toEqual(contextOf('ctx-py', 2, { roll: '4d6' }));
  });

  it('node agent: ctx.callId, ctx.executionId, ctx.attempt, ctx.params', async () => {
    const out = await run(node('index.js'), 'call-context', { callId: 'ctx-node', attempt: 2, params: [1, 'two'] });
    expect(out.status).toBe('DONE');
    expect(JSON.parse(out.result)).toEqual(contextOf('ctx-node', 2, [1, 'two']));
  });

  it('exec in a reused container (exec agent): FERRY_CALL_ID, FERRY_EXECUTION_ID, FERRY_ATTEMPT', async () => {
    const out = await run(python('exec', 'sh main.sh'), 'call-context', { callId: 'ctx-exec-reuse', attempt: 3, params: { n: 1 } });
    expect(out.status).toBe('DONE');
    expect(JSON.parse(out.result)).toEqual(contextOf('ctx-exec-reuse', 3, { n: 1 }));
  });

  it('python agent: raise Final(...) ends ERROR with final: true; an ordinary exception does not', async () => {
    const final = await run(python('agent', 'main.py'), 'final', { callId: 'final-py', params: 'x' });
    expect(final).toMatchObject({ status: 'ERROR', error: { code: 'FUNCTION_ERROR', message: "Final: bad input: 'x'", final: true } });
    expect(final.logs.stderr).toContain('ferry.Final');

    const plain = await run(python('agent', 'main.py'), 'throws', { callId: 'plain-py', params: 'x' });
    expect(plain).toMatchObject({ status: 'ERROR', error: { code: 'FUNCTION_ERROR' } });
    expect(plain.error).not.toHaveProperty('final');
  });

  it('node agent: throw new ctx.Final(...) ends ERROR with final: true; an ordinary error does not', async () => {
    const final = await run(node('index.js'), 'final', { callId: 'final-node', params: 'x' });
    expect(final).toMatchObject({ status: 'ERROR', error: { code: 'FUNCTION_ERROR', message: 'Final: bad input: "x"', final: true } });

    const plain = await run(node('index.js'), 'throws', { callId: 'plain-node', params: 'x' });
    expect(plain).toMatchObject({ status: 'ERROR', error: { code: 'FUNCTION_ERROR', message: 'TypeError: bad input: "x"' } });
    expect(plain.error).not.toHaveProperty('final');
  });

  it('exec: ##ferry final before a non-zero exit ends ERROR with final: true, the line kept out of stderr', async () => {
    const final = await run(python('exec', 'sh main.sh'), 'final', { callId: 'final-exec', params: 1 });
    expect(final).toMatchObject({ status: 'ERROR', error: { code: 'FUNCTION_ERROR', final: true }, logs: { stderr: 'bad input: 1\n' } });
    expect(final.error?.message).toContain('exited with code 2');

    const plain = await run(python('exec', 'sh main.sh'), 'exit-1', { callId: 'plain-exec' });
    expect(plain).toMatchObject({ status: 'ERROR', error: { code: 'FUNCTION_ERROR' } });
    expect(plain.error).not.toHaveProperty('final');
  });
});

describe('a function reads its own call (Docker driver, a container per call)', () => {
  let c: WorkerCluster;
  const run = caller(() => c);
  beforeAll(async () => {
    c = await startWorkerCluster({ FERRY_DRIVER: 'docker', FERRY_NODE_ID: nodeId(), FERRY_PRELOAD: 'none', FERRY_MAX_CONTAINERS: '1' });
  });
  afterAll(async () => {
    const id = c?.nodeId;
    await c?.close();
    if (id) expect(await containersOf(id)).toBe(0);
  });

  it('exec in its own container (docker run): FERRY_CALL_ID, FERRY_EXECUTION_ID, FERRY_ATTEMPT', async () => {
    const out = await run(python('exec', 'sh main.sh'), 'call-context', { callId: 'ctx-exec-once', attempt: 2, params: { n: 2 } });
    expect(out.status).toBe('DONE');
    expect(JSON.parse(out.result)).toEqual(contextOf('ctx-exec-once', 2, { n: 2 }));
  });

  it('exec in its own container: ##ferry final marks the failure final', async () => {
    const out = await run(python('exec', 'sh main.sh'), 'final', { callId: 'final-exec-once' });
    expect(out).toMatchObject({ status: 'ERROR', error: { code: 'FUNCTION_ERROR', final: true }, logs: { stderr: 'bad input: null\n' } });
  });
});
