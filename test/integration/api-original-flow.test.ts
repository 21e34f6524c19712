import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBundle } from '../helpers/bundles.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { example } from '../helpers/fixtures.js';
import { http, upload } from '../helpers/http.js';
import { waitUntil } from '../helpers/temp.js';

// The original API's curl session, paths and field names unchanged, against a real cluster.
describe('the original HTTP API, verbatim', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster({ workers: ['node-a'] });
  });
  afterAll(async () => c?.close());

  it('registers, pushes, invokes and reads calls as the first version did', async () => {
    const rt = await http('POST', `${c.url}/registerRuntime`, {
      image: 'pythonruntime',
      path: '/ws',
      dependencies: 'pip3 install -r requirements.txt',
      run: 'python3 test.py',
    });
    expect(rt.status).toBe(201);

    const bundle = await makeBundle(c.dir, 'python', await example('python/dice'));
    const pushed = await upload<{ name: string; version: number }>(`${c.url}/registerFunction/pythonruntime/dice`, bundle.file);
    expect(pushed.status).toBe(201);
    expect(pushed.body).toMatchObject({ name: 'dice', version: 1 });

    const invoked = await http<{ callNum: number; id: string }>('POST', `${c.url}/invokeFunction`, { funcName: 'dice', params: { roll: '4d6' } });
    expect(invoked.status).toBeGreaterThanOrEqual(200);
    expect(invoked.status).toBeLessThan(300);
    expect(invoked.body.callNum).toBe(1);
    expect(typeof invoked.body.id).toBe('string');

    expect((await http('GET', `${c.url}/runtimes`)).body).toEqual(['pythonruntime']);
    expect((await http('GET', `${c.url}/functions`)).body).toEqual(['dice']);

    const calls = (await http<Record<string, Record<string, unknown>>>('GET', `${c.url}/calls`)).body;
    expect(Object.keys(calls)).toEqual(['c1']);
    expect(Object.keys(calls['c1']!).sort()).toEqual(['callNum', 'funcName', 'params', 'result', 'status']);
    expect(calls['c1']).toMatchObject({ funcName: 'dice', params: { roll: '4d6' }, callNum: 1 });
    expect(['PENDING', 'RUNNING', 'DONE']).toContain(calls['c1']!['status']);

    let call: Record<string, unknown> = {};
    await waitUntil(async () => {
      call = (await http<Record<string, unknown>>('GET', `${c.url}/call/1`)).body;
      return call['status'] === 'DONE';
    }, 'call 1 is DONE', 60_000);
    expect(Object.keys(call).sort()).toEqual(['callNum', 'funcName', 'params', 'result', 'status']);
    expect(call['result']).toMatch(/^\[[1-6],[1-6],[1-6],[1-6]\]$/);
  });

  it('answers errors as JSON with the right status, never a stack trace', async () => {
    const bad = await http('POST', `${c.url}/invokeFunction`, '{"funcName": ');
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ error: { code: 'BAD_REQUEST', message: 'request body is not valid JSON' } });

    const unknown = await http('POST', `${c.url}/invokeFunction`, { funcName: 'no-such-fn' });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error: { code: 'NOT_FOUND' } });

    const noRuntime = await upload(`${c.url}/registerFunction/no-such-runtime/x`, (await makeBundle(c.dir, 'x', { 'a.py': '' })).file);
    expect(noRuntime.status).toBe(404);

    expect((await http('GET', `${c.url}/call/999`)).status).toBe(404);
    expect((await http('GET', `${c.url}/call/abc`)).status).toBe(400);
    expect((await http('POST', `${c.url}/registerRuntime`, { path: '/ws' })).status).toBe(400);
    expect((await http('GET', `${c.url}/healthz`)).body).toMatchObject({ status: 'ok', db: 'ok', registry: 'ok', nodes: 1 });
  });
});
