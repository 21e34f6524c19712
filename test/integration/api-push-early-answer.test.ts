import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBundle, makeGzipBomb } from '../helpers/bundles.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { fixture } from '../helpers/fixtures.js';
import { http, upload } from '../helpers/http.js';
import { streamedUpload, zerosAfter } from '../helpers/streamed-upload.js';

const MiB = 1024 * 1024;
/** Far more than the socket buffers and the api's windows hold, so a client cannot finish it before the api reads. */
const BODY_BYTES = 50 * MiB;
const zeros = { bytes: BODY_BYTES, chunks: () => zerosAfter(Buffer.alloc(0), BODY_BYTES) };

// No worker and no container: every push here is answered by the api (and refused) before a call could run.
describe('a push is answered without waiting for its body (real cluster)', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster();
    expect((await http('POST', `${c.url}/v1/runtimes`, { name: 'py', image: 'pythonruntime', path: '/ws', run: 'main.py', protocol: 'agent' })).status).toBe(201);
  });
  afterAll(async () => c?.close());

  it.each([
    ['an unknown ?runtime=', '/v1/functions/echo?runtime=nope', [], 404, 'NOT_FOUND'],
    ['an unknown runtime field sent before the file', '/v1/functions/echo', [['runtime', 'nope']], 404, 'NOT_FOUND'],
    ['an unknown runtime in the original route', '/registerFunction/nope/echo', [], 404, 'NOT_FOUND'],
    ['a bad function name', '/v1/functions/-bad?runtime=py', [], 400, 'BAD_REQUEST'],
    ['a bad function name in the original route', '/registerFunction/py/-bad', [], 400, 'BAD_REQUEST'],
  ] as const)('answers %s while the client is still sending a 50 MiB body', async (_what, route, fields, status, code) => {
    const r = await streamedUpload(`${c.url}${route}`, fields, zeros);
    expect(r.events).toEqual(['response', 'body sent']);
    expect(r.sentAtResponse).toBeLessThan(r.total);
    expect({ status: r.status, body: r.body }).toMatchObject({ status, body: { error: { code } } });
  });

  it('takes the runtime from ?runtime= as from the field, and refuses the two disagreeing', async () => {
    const ok = await makeBundle(c.dir, 'ok', await fixture('ok'));
    const pushed = await upload<{ name: string; runtime: string; version: number }>(`${c.url}/v1/functions/echo?runtime=py`, ok.file);
    expect(pushed.status).toBe(201);
    expect(pushed.body).toMatchObject({ name: 'echo', runtime: 'py', version: 1 });
    const both = await upload<{ error: { code: string; message: string } }>(`${c.url}/v1/functions/echo?runtime=py`, ok.file, { runtime: 'other' });
    expect(both.status).toBe(400);
    expect(both.body.error.message).toContain('differs from ?runtime=py');
    const badQuery = await upload(`${c.url}/v1/functions/echo?runtime=-x`, ok.file);
    expect(badQuery.status).toBe(400);
  });

  it('refuses a gzip bomb (2 MiB inflating to 2 GiB) with the reason, as soon as it is found', async () => {
    const bomb = await makeGzipBomb(c.dir, 'bomb', 2 * 1024 * MiB);
    const bytes = await readFile(bomb);
    expect(bytes.length).toBeLessThan(3 * MiB);

    const r = await upload<{ error: { code: string; message: string } }>(`${c.url}/v1/functions/bomb`, bomb, { runtime: 'py' });
    expect(r.status).toBe(400);
    expect(r.body.error).toEqual({ code: 'BAD_REQUEST', message: `bundle refused: more than ${1024 * MiB} bytes unpacked` });

    // The same bomb with the rest of a 50 MiB body behind it: refused before that rest is sent.
    const streamed = await streamedUpload(`${c.url}/v1/functions/bomb`, [['runtime', 'py']], { bytes: BODY_BYTES, chunks: () => zerosAfter(bytes, BODY_BYTES) });
    expect(streamed.events).toEqual(['response', 'body sent']);
    expect({ status: streamed.status, body: streamed.body }).toEqual({ status: 400, body: r.body });
    expect((await http('GET', `${c.url}/v1/functions/bomb`)).status).toBe(404);
  });
});
