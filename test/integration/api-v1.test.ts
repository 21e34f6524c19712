import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Call } from '../../shared/protocol/domain.js';
import { makeBundle } from '../helpers/bundles.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { fixture } from '../helpers/fixtures.js';
import { http, upload, withAuth } from '../helpers/http.js';
import { openapi } from '../../services/api/http/openapi.js';
import { documentedRoutes, servedRoutes } from '../helpers/served-routes.js';
import { waitUntil } from '../helpers/temp.js';

const agentRuntime = { name: 'py-agent', image: 'pythonruntime', path: '/ws', run: 'main.py', protocol: 'agent' };

describe('/v1 (real cluster)', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster({ workers: ['node-1'], apiEnv: { FERRY_MAX_UPLOAD_BYTES: String(64 * 1024) } });
    expect((await http('POST', `${c.url}/v1/runtimes`, agentRuntime)).status).toBe(201);
    const ok = await makeBundle(c.dir, 'ok', await fixture('ok'));
    expect((await upload(`${c.url}/v1/functions/echo`, ok.file, { runtime: 'py-agent', timeoutMs: '20000' })).status).toBe(201);
  });
  afterAll(async () => c?.close());

  it('invokes synchronously with ?wait=true and asynchronously with 202 + id', async () => {
    const sync = await http<Call>('POST', `${c.url}/v1/functions/echo/invoke?wait=true`, { hello: 'world' });
    expect(sync.status).toBe(200);
    expect(sync.body).toMatchObject({ status: 'DONE', result: '{"echo":{"hello":"world"}}', funcName: 'echo', version: 1, workerId: 'node-1' });

    const async_ = await http<{ id: string; callNum: number; status: string }>('POST', `${c.url}/v1/functions/echo@1/invoke`, [1, 2]);
    expect(async_.status).toBe(202);
    expect(async_.headers.get('location')).toBe(`/v1/calls/${async_.body.id}`);
    let call = {} as Call;
    await waitUntil(async () => {
      call = (await http<Call>('GET', `${c.url}/v1/calls/${async_.body.id}`)).body;
      return call.status === 'DONE';
    }, 'the async call is DONE');
    expect(call.result).toBe('{"echo":[1,2]}');
    expect((await http<Call>('GET', `${c.url}/v1/calls/${call.callNum}`)).body.id).toBe(call.id);
    const logs = await http<{ stdout: string; stderr: string }>('GET', `${c.url}/v1/calls/${call.id}/logs`);
    expect(logs.body).toMatchObject({ id: call.id, status: 'DONE', stdout: '', stderr: '', truncated: false });
  });

  it('shows a sync call ended to every read that follows its answer', async () => {
    // The answer goes out while the end is still being written: reads must not see it PENDING.
    for (let i = 0; i < 20; i++) {
      const sync = await http<Call>('POST', `${c.url}/v1/functions/echo/invoke?wait=true`, { i });
      expect(sync.body.status).toBe('DONE');
      expect((await http<Call>('GET', `${c.url}/v1/calls/${sync.body.id}`)).body).toMatchObject({ status: 'DONE', result: sync.body.result });
      expect((await http<Call>('GET', `${c.url}/v1/calls/${sync.body.callNum}`)).body.status).toBe('DONE');
      const page = await http<{ calls: Call[] }>('GET', `${c.url}/v1/calls?funcName=echo&limit=1`);
      expect(page.body.calls[0]).toMatchObject({ id: sync.body.id, status: 'DONE' });
    }
  });

  it('answers invoke errors as every route does: bad JSON 400, unknown function 404, bad query 400, oversize 413', async () => {
    const bad = await http('POST', `${c.url}/v1/functions/echo/invoke`, '{"a": ', { 'x-request-id': 'req-42' });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ error: { code: 'BAD_REQUEST', message: 'request body is not valid JSON' } });
    expect(bad.headers.get('x-request-id')).toBe('req-42');
    const missing = await http('POST', `${c.url}/v1/functions/nope/invoke`, {});
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: { code: 'NOT_FOUND' } });
    expect((await http('POST', `${c.url}/v1/functions/echo/invoke?wait=maybe`, {})).body).toMatchObject({ error: { code: 'BAD_REQUEST' } });
    const big = await http('POST', `${c.url}/v1/functions/echo/invoke`, JSON.stringify({ pad: 'x'.repeat(9 * 1024 * 1024) }));
    expect(big.status).toBe(413);
    expect(big.body).toMatchObject({ error: { code: 'BODY_TOO_LARGE' } });
    // Params are JSON whatever the content-type says (curl's -d sends form-encoded); other text is refused.
    const text = await http<Call>('POST', `${c.url}/v1/functions/echo/invoke?wait=true`, 'plain words', { 'content-type': 'text/plain' });
    expect(text.status).toBe(400);
    expect(text.body).toEqual({ error: { code: 'BAD_REQUEST', message: 'the params must be a JSON body (content-type: application/json)' } });
    const form = await http<Call>('POST', `${c.url}/v1/functions/echo/invoke?wait=true`, '{"n":1}', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.body).toMatchObject({ status: 'DONE', result: '{"echo":{"n":1}}' });
    const gzipped = await fetch(`${c.url}/v1/functions/echo/invoke?wait=true`, {
      method: 'POST',
      headers: withAuth(c.url, { 'content-type': 'application/json', 'content-encoding': 'gzip' }),
      body: gzipSync(JSON.stringify({ z: 2 })),
    });
    expect(await gzipped.json()).toMatchObject({ status: 'DONE', result: '{"echo":{"z":2}}' });
    const empty = await http<Call>('POST', `${c.url}/v1/functions/echo/invoke?wait=true`, '');
    expect(empty.body).toMatchObject({ status: 'DONE', result: '{"echo":{}}' });
  });

  it('returns the call id when a sync call outlasts the wait', async () => {
    const slow = await makeBundle(c.dir, 'slow', await fixture('slow'));
    expect((await upload(`${c.url}/v1/functions/slow`, slow.file, { runtime: 'py-agent' })).status).toBe(201);
    const r = await http<{ id: string; status: string }>('POST', `${c.url}/v1/functions/slow/invoke?wait=true&timeoutMs=300`, { seconds: 2 });
    expect(r.status).toBe(202);
    expect(r.body.id).toBeTruthy();
  });

  it('keeps errors and logs of a failing function in the call store', async () => {
    const throws = await makeBundle(c.dir, 'throws', await fixture('throws'));
    expect((await upload(`${c.url}/v1/functions/throws`, throws.file, { runtime: 'py-agent' })).status).toBe(201);
    const r = await http<Call>('POST', `${c.url}/v1/functions/throws/invoke?wait=true`, { x: 1 });
    expect(r.body).toMatchObject({ status: 'ERROR', error: { code: 'FUNCTION_ERROR' } });
    const logs = await http<{ stdout: string; stderr: string }>('GET', `${c.url}/v1/calls/${r.body.id}/logs`);
    expect(logs.body.stdout).toBe('about to fail\n');
    expect(logs.body.stderr).toContain('ValueError');
  });

  it('lists calls with filters and cursor pagination', async () => {
    for (let i = 0; i < 5; i++) await http('POST', `${c.url}/v1/functions/echo/invoke?wait=true&sessionId=batch-7`, { i });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = `funcName=echo&sessionId=batch-7&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await http<{ calls: Call[]; nextCursor: string | null }>('GET', `${c.url}/v1/calls?${q}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.calls.map((x) => JSON.stringify(x.params)));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([4, 3, 2, 1, 0].map((i) => JSON.stringify({ i })));
    expect((await http('GET', `${c.url}/v1/calls?status=BOGUS`)).status).toBe(400);
    const errs = await http<{ calls: Call[] }>('GET', `${c.url}/v1/calls?status=ERROR`);
    expect(errs.body.calls.every((x) => x.status === 'ERROR')).toBe(true);
  });

  it('shows nodes with capacity, warm containers and heartbeat age', async () => {
    const nodes = await http<{ nodes: { nodeId: string; capacity: { maxContainers: number }; lastHeartbeatAgoMs: number; warm: unknown[] }[] }>('GET', `${c.url}/v1/nodes`);
    expect(nodes.body.nodes).toHaveLength(1);
    expect(nodes.body.nodes[0]).toMatchObject({ nodeId: 'node-1', driver: 'docker', capacity: { maxContainers: 4 } });
    expect(nodes.body.nodes[0]!.lastHeartbeatAgoMs).toBeLessThan(3_000);
    expect((await http('GET', `${c.url}/v1/nodes/nope`)).status).toBe(404);
  });

  it('versions functions and resolves name@version', async () => {
    const v2 = await makeBundle(c.dir, 'ok-v2', { 'main.py': 'def main(params, ctx=None):\n    return "v2"\n' });
    expect((await upload<{ version: number }>(`${c.url}/v1/functions/echo`, v2.file, { runtime: 'py-agent' })).body.version).toBe(2);
    expect((await http<Call>('POST', `${c.url}/v1/functions/echo/invoke?wait=true`, {})).body.result).toBe('v2');
    expect((await http<Call>('POST', `${c.url}/v1/functions/echo@1/invoke?wait=true`, 'null')).body.result).toBe('{"echo":null}');
    const versions = await http<{ versions: { version: number }[] }>('GET', `${c.url}/v1/functions/echo/versions`);
    expect(versions.body.versions.map((v) => v.version)).toEqual([1, 2]);
    expect((await http('GET', `${c.url}/v1/functions/echo@2`)).body).toMatchObject({ name: 'echo', version: 2 });
  });

  it('refuses bad bundles with the reason: oversize 413, absolute paths, "..", links, not a tarball', async () => {
    const big = await makeBundle(c.dir, 'big', { 'blob.txt': Array.from({ length: 40_000 }, (_, i) => `${i}:${Math.random()}`).join('\n') });
    const oversize = await upload(`${c.url}/v1/functions/big`, big.file, { runtime: 'py-agent' });
    expect(oversize.status).toBe(413);
    expect(oversize.body).toMatchObject({ error: { code: 'BUNDLE_TOO_LARGE' } });

    const src = path.join(c.dir, 'evil', 'inner');
    await mkdir(src, { recursive: true });
    await writeFile(path.join(src, 'main.py'), 'x = 1\n');
    await writeFile(path.join(c.dir, 'evil', 'outside.txt'), 'escape\n');
    await symlink('/etc/passwd', path.join(src, 'link'));
    const dotdot = path.join(c.dir, 'dotdot.tar.gz');
    await tar.c({ gzip: true, file: dotdot, cwd: src, preservePaths: true }, ['main.py', '../outside.txt']);
    const absolute = path.join(c.dir, 'absolute.tar.gz');
    await tar.c({ gzip: true, file: absolute, cwd: src, preservePaths: true }, ['main.py', path.join(c.dir, 'evil', 'outside.txt')]);
    const linked = path.join(c.dir, 'linked.tar.gz');
    await tar.c({ gzip: true, file: linked, cwd: src }, ['main.py', 'link']);
    const notTar = path.join(c.dir, 'not.tar.gz');
    await writeFile(notTar, 'this is not a tarball');

    for (const [file, reason] of [
      [dotdot, '".."'],
      [absolute, 'absolute path'],
      [linked, 'link'],
      [notTar, 'not gzip'],
    ] as const) {
      const r = await upload<{ error: { code: string; message: string } }>(`${c.url}/v1/functions/evil`, file, { runtime: 'py-agent' });
      expect({ file, status: r.status }).toEqual({ file, status: 400 });
      expect(r.body.error.message).toContain(reason);
    }
    expect((await http('GET', `${c.url}/v1/functions/evil`)).status).toBe(404);
    expect((await upload(`${c.url}/v1/functions/echo`, notTar, {})).status).toBe(400);
  });

  it('serves an OpenAPI document that matches the routes', async () => {
    const served = await http<typeof openapi>('GET', `${c.url}/v1/openapi.json`);
    expect(served.status).toBe(200);
    expect(served.body.paths).toEqual(JSON.parse(JSON.stringify(openapi.paths)));
    expect(documentedRoutes()).toEqual(servedRoutes().v1);
  });
});

describe('a full queue', () => {
  it('answers 429 with Retry-After once the bounded queue is full', async () => {
    const c = await startCluster({ apiEnv: { FERRY_QUEUE_MAX: '2' } });
    try {
      await http('POST', `${c.url}/v1/runtimes`, agentRuntime);
      const ok = await makeBundle(c.dir, 'ok', await fixture('ok'));
      await upload(`${c.url}/v1/functions/echo`, ok.file, { runtime: 'py-agent' });
      // No worker: calls wait in the queue, in order.
      expect((await http('POST', `${c.url}/v1/functions/echo/invoke`, 1)).status).toBe(202);
      expect((await http('POST', `${c.url}/v1/functions/echo/invoke`, 2)).status).toBe(202);
      const full = await http('POST', `${c.url}/invokeFunction`, { funcName: 'echo', params: 3 });
      expect(full.status).toBe(429);
      expect(full.headers.get('retry-after')).toBe('1');
      expect(full.body).toMatchObject({ error: { code: 'QUEUE_FULL' } });
      const fullV1 = await http('POST', `${c.url}/v1/functions/echo/invoke`, 3);
      expect(fullV1.status).toBe(429);
      expect(fullV1.headers.get('retry-after')).toBe('1');
      // The queued calls run, in order, once a node joins.
      await c.startWorker('late-node');
      for (const n of [1, 2]) {
        await waitUntil(async () => (await http<Call>('GET', `${c.url}/v1/calls/${n}`)).body.status === 'DONE', `call ${n} is DONE`, 60_000);
      }
    } finally {
      await c.close();
    }
  });
});
