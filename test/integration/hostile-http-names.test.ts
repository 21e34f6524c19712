import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOSTILE_FUNCTION, HOSTILE_RUNTIME, refusedSince, startHostileCluster, type HostileCluster } from '../helpers/hostile-cluster.js';
import { http, type HttpReply } from '../helpers/http.js';
import { waitUntil } from '../helpers/temp.js';

type ErrorBody = { error: { code: string; message: string } };

// Fake node: what is under test is the api's reading of names and queries; a container adds nothing.
describe('hostile names and queries (real cluster, fake driver)', () => {
  let h: HostileCluster;
  let url: string;
  let runId: string;
  let batchId: string;
  let sessionId: string;
  beforeAll(async () => {
    h = await startHostileCluster('hx-names');
    url = h.c.url;
    runId = (await http<{ id: string }>('POST', `${url}/v1/functions/${HOSTILE_FUNCTION}/runs`, { times: 2, params: {} })).body.id;
    const batch = { worker: HOSTILE_FUNCTION, combiner: HOSTILE_FUNCTION, startIndex: 0, endIndex: 2, batchSize: 1, maxParallelism: 1, timeoutSecs: 60 };
    batchId = (await http<{ id: string }>('POST', `${url}/v1/batches`, batch)).body.id;
    sessionId = (await http<{ id: string }>('POST', `${url}/v1/sessions`, {})).body.id;
    await waitUntil(async () => (await http<{ state: string }>('GET', `${url}/v1/batches/${batchId}`)).body.state === 'done', 'the batch job is done');
  });
  afterAll(async () => h?.close());

  /** Every way a request names a function, with `ref` where the name goes (percent-encoded in a path). */
  const namedBy = (ref: string): [string, string, unknown][] => {
    const inPath = encodeURIComponent(ref);
    return [
      ['POST', `/v1/functions/${inPath}/invoke`, {}],
      ['GET', `/v1/functions/${inPath}`, undefined],
      ['POST', `/v1/functions/${inPath}/runs`, { times: 1 }],
      ['POST', '/invokeFunction', { funcName: ref, params: {} }],
      ['POST', `/v1/sessions/${sessionId}/calls`, [{ function: ref }]],
      ['POST', '/v1/batches', { worker: ref, combiner: HOSTILE_FUNCTION, startIndex: 0, endIndex: 1, batchSize: 1, maxParallelism: 1, timeoutSecs: 60 }],
    ];
  };

  /** Sends each request; every answer must be `status` + `code`. Checks the api counted them all, then that it serves on. */
  async function allRefused(requests: [string, string, unknown][], status: number, code: string): Promise<HttpReply<ErrorBody>[]> {
    const before = await h.refused();
    const replies: HttpReply<ErrorBody>[] = [];
    for (const [method, route, body] of requests) {
      const r = await http<ErrorBody>(method, `${url}${route}`, body);
      expect({ method, route, status: r.status, code: r.body.error?.code }).toEqual({ method, route, status, code });
      replies.push(r);
    }
    expect(refusedSince(before.api, (await h.refused()).api)).toEqual({ [code]: requests.length });
    await h.stillServes();
    return replies;
  }

  it('answers an unknown function 404 on every route that names one', async () => {
    await allRefused([...namedBy('hx-nobody'), ...namedBy(`${HOSTILE_FUNCTION}@99`)], 404, 'NOT_FOUND');
  });

  it('refuses a bad version (name@x, @-1, @0, @1.5, 20 digits) with 400, never rounding it into another version', async () => {
    const refs = ['x', '-1', '0', '1.5', '', '99999999999999999999'].map((v) => `${HOSTILE_FUNCTION}@${v}`);
    const replies = await allRefused(refs.flatMap(namedBy), 400, 'BAD_REQUEST');
    for (const r of replies) expect(r.body.error.message).toMatch(/the version after @ must be a whole number from 1/);
  });

  it('refuses bad name characters (path-ish, unicode, NUL, 5,000 characters, bad percent-encoding) with 400', async () => {
    const refs = ['../../etc/passwd', 'a/b', '☃-fn', 'fn\u0000x', '-leading-dash', 'x'.repeat(5_000)];
    const replies = await allRefused(refs.flatMap(namedBy), 400, 'BAD_REQUEST');
    // A session's body caps each `function` at 160 characters before any name is read.
    for (const r of replies) expect(r.body.error.message).toMatch(/^bad function name ".*": letters, digits|^bad body: 0\.function: Too big/s);
    await allRefused(
      [
        ['POST', '/v1/functions/%ZZ/invoke', {}],
        ['GET', '/v1/functions/%ZZ', undefined],
        ['POST', `/registerFunction/${HOSTILE_RUNTIME}/..%2F..%2Fetc`, undefined],
        ['POST', `/v1/functions/${encodeURIComponent('☃')}?runtime=${HOSTILE_RUNTIME}`, undefined],
      ],
      400,
      'BAD_REQUEST',
    );
  });

  /** Each paged route, with a cursor shaped as its own (so a forged one gets past the shape check). */
  const paged = (): [string, string][] => [
    ['/v1/calls', '9999999999999999'],
    ['/v1/dead-letters', '9999999999999999'],
    ['/v1/runs', `9999999999999999!${'A'.repeat(21)}`],
    [`/v1/runs/${runId}/details`, '9999999999999999'],
    ['/v1/sessions', `9999999999999999!${'A'.repeat(21)}`],
    ['/v1/batches', `9999999999999999!${'A'.repeat(21)}`],
    [`/v1/batches/${batchId}/results`, '9999999999999999'],
  ];

  it('refuses a negative, huge, fractional, non-numeric, repeated or empty limit with 400 on every paged route', async () => {
    const limits = ['-1', '0', '1001', '99999999999999999999', '2.5', 'abc', '1&limit=2', ''];
    const replies = await allRefused(paged().flatMap(([route]) => limits.map((l): [string, string, unknown] => ['GET', `${route}?limit=${l}`, undefined])), 400, 'BAD_REQUEST');
    for (const r of replies) expect(r.body.error.message).toMatch(/^bad query: limit: /);
    await allRefused(['0', '-3', 'x', '99999999999999999999'].map((p): [string, string, unknown] => ['GET', `/v1/sessions/${sessionId}/results/${p}`, undefined]), 400, 'BAD_REQUEST');
  });

  it('refuses a garbage cursor with 400; a forged one of the right shape reads only as a place in the listing', async () => {
    const garbage = ['zzz', '-1', '', '1e5', '../x', `${'9'.repeat(17)}`, '0000000000000001!short'];
    const replies = await allRefused(paged().flatMap(([route]) => garbage.map((c): [string, string, unknown] => ['GET', `${route}?cursor=${encodeURIComponent(c)}`, undefined])), 400, 'BAD_REQUEST');
    for (const r of replies) expect(r.body.error.message).toBe('bad query: cursor: must be the nextCursor of a previous page');
    // A forged cursor past every real one: the page from there, which is the first page, never another listing's items.
    for (const [route, cursor] of paged()) {
      const first = await http<Record<string, unknown>>('GET', `${url}${route}`);
      const forged = await http<Record<string, unknown>>('GET', `${url}${route}?cursor=${encodeURIComponent(cursor)}`);
      expect({ route, status: forged.status, body: forged.body }).toEqual({ route, status: 200, body: first.body });
    }
  });
});
