import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Call } from '../../shared/protocol/domain.js';
import { JSON_BODY_LIMIT_BYTES, JSON_MAX_DEPTH } from '../../services/api/http/json-body.js';
import { HOSTILE_FUNCTION, refusedSince, startHostileCluster, type HostileCluster } from '../helpers/hostile-cluster.js';
import { http, type HttpReply } from '../helpers/http.js';

type ErrorBody = { error: { code: string; message: string } };

/** JSON arrays nested `depth` deep, as text (JSON.stringify of such a value would itself recurse). */
const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

// Fake node: what is under test is the api's reading of bodies; a container adds nothing.
describe('hostile JSON bodies (real cluster, fake driver)', () => {
  let h: HostileCluster;
  let url: string;
  let sessionId: string;
  /** Every route that reads a JSON body, with `params` (any JSON) placed where that route takes it. */
  let bodyRoutes: [string, (params: string) => string][];
  beforeAll(async () => {
    h = await startHostileCluster('hx-bodies');
    url = h.c.url;
    sessionId = (await http<{ id: string }>('POST', `${url}/v1/sessions`, {})).body.id;
    bodyRoutes = [
      [`/v1/functions/${HOSTILE_FUNCTION}/invoke`, (p) => p],
      ['/invokeFunction', (p) => `{"funcName":"${HOSTILE_FUNCTION}","params":${p}}`],
      [`/v1/functions/${HOSTILE_FUNCTION}/runs`, (p) => `{"times":1,"params":${p}}`],
      [`/v1/sessions/${sessionId}/calls`, (p) => `[{"function":"${HOSTILE_FUNCTION}","params":${p}}]`],
      ['/v1/batches', (p) => `{"worker":"${HOSTILE_FUNCTION}","combiner":"${HOSTILE_FUNCTION}","startIndex":0,"endIndex":1,"batchSize":1,"maxParallelism":1,"timeoutSecs":60,"params":${p}}`],
    ];
  });
  afterAll(async () => h?.close());

  /** POSTs to every body route the body `make` builds around that route's own wrapping; the replies by route. */
  async function postEverywhere(make: (wrap: (params: string) => string) => string | Buffer, headers: Record<string, string> = {}): Promise<[string, HttpReply<ErrorBody>][]> {
    const replies: [string, HttpReply<ErrorBody>][] = [];
    for (const [route, wrap] of bodyRoutes) replies.push([route, await http<ErrorBody>('POST', `${url}${route}`, make(wrap), headers)]);
    return replies;
  }

  it('refuses a body that is not JSON with 400', async () => {
    const before = await h.refused();
    for (const [route, r] of await postEverywhere((wrap) => wrap('{"roll": 4d6}'))) {
      expect({ route, status: r.status, body: r.body }).toEqual({ route, status: 400, body: { error: { code: 'BAD_REQUEST', message: 'request body is not valid JSON' } } });
    }
    expect(refusedSince(before.api, (await h.refused()).api)).toEqual({ BAD_REQUEST: bodyRoutes.length });
    await h.stillServes();
  });

  it(`refuses params past the ${JSON_BODY_LIMIT_BYTES}-byte body limit with 413, sent as they are or inflating past it from a few KiB of gzip`, async () => {
    const huge = (wrap: (p: string) => string): string => wrap(`"${'x'.repeat(JSON_BODY_LIMIT_BYTES)}"`);
    expect(gzipSync(huge(bodyRoutes[0]![1])).length).toBeLessThan(64 * 1024);
    const before = await h.refused();
    for (const [route, r] of await postEverywhere(huge)) {
      expect({ route, status: r.status, body: r.body }).toEqual({ route, status: 413, body: { error: { code: 'BODY_TOO_LARGE', message: `request body over the ${JSON_BODY_LIMIT_BYTES}-byte limit of a JSON body` } } });
    }
    for (const [route, r] of await postEverywhere((wrap) => gzipSync(huge(wrap)), { 'content-encoding': 'gzip' })) {
      expect({ route, status: r.status, body: r.body }).toEqual({ route, status: 413, body: { error: { code: 'BODY_TOO_LARGE', message: `request body over the ${JSON_BODY_LIMIT_BYTES}-byte limit of a JSON body` } } });
    }
    expect(refusedSince(before.api, (await h.refused()).api)).toEqual({ BODY_TOO_LARGE: 2 * bodyRoutes.length });
    await h.stillServes();
  });

  it('refuses params nested 10,000 deep with 400 (no crash, no stall), and takes them at the depth limit', async () => {
    const before = await h.refused();
    for (const [route, r] of await postEverywhere((wrap) => wrap(nested(10_000)))) {
      expect({ route, status: r.status, body: r.body }).toEqual({
        route,
        status: 400,
        body: { error: { code: 'BAD_REQUEST', message: `request body nests deeper than ${JSON_MAX_DEPTH} levels` } },
      });
    }
    expect(refusedSince(before.api, (await h.refused()).api)).toEqual({ BAD_REQUEST: bodyRoutes.length });
    // The invoke route's body is the params themselves: exactly at the limit, they run.
    const deepest = await http<Call>('POST', `${url}/v1/functions/${HOSTILE_FUNCTION}/invoke?wait=true`, nested(JSON_MAX_DEPTH), { 'content-type': 'application/json' });
    expect(deepest.body.status).toBe('DONE');
    expect(JSON.stringify(deepest.body.params)).toBe(nested(JSON_MAX_DEPTH));
    await h.stillServes();
  });

  it('refuses bytes that are not UTF-8 with 400 rather than storing them changed', async () => {
    const before = await h.refused();
    const notUtf8 = (wrap: (p: string) => string): Buffer => {
      const [head, tail] = wrap('"\u0000"').split('\u0000') as [string, string];
      return Buffer.concat([Buffer.from(head), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(tail)]);
    };
    for (const [route, r] of await postEverywhere(notUtf8)) {
      expect({ route, status: r.status, body: r.body }).toEqual({ route, status: 400, body: { error: { code: 'BAD_REQUEST', message: 'request body is not valid UTF-8' } } });
    }
    expect(refusedSince(before.api, (await h.refused()).api)).toEqual({ BAD_REQUEST: bodyRoutes.length });
    await h.stillServes();
  });
});
