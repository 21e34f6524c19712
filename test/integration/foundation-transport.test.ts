import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Dealer, Router } from 'zeromq';
import { z } from 'zod';
import { ErrorCode, FerryError, fromWire, httpStatusByCode } from '../../shared/errors.js';
import { moduleLogger } from '../../shared/logger.js';
import { BATCH_HEADER, packBatch, unbatch } from '../../shared/protocol/batch.js';
import { decodeFrames, encodeFrames, parseReply, parseRequest } from '../../shared/protocol/envelope.js';
import { RpcClient } from '../../shared/transport/rpc-client.js';
import { BulkReply, RpcServer } from '../../shared/transport/rpc-server.js';

const log = moduleLogger('test');
const schemas = {
  echo: z.object({ value: z.unknown(), delayMs: z.number().default(0) }),
  fail: z.object({ how: z.enum(['typed', 'plain']) }),
  count: z.object({}),
  blob: z.object({}),
};
interface Replies {
  echo: { value: unknown };
  fail: never;
  count: { n: number };
  blob: { parts: number };
}
type Requests = { [K in keyof Replies]: z.input<(typeof schemas)[K]> };

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startServer(): Promise<{ server: RpcServer<typeof schemas, Replies>; counter: { n: number } }> {
  const counter = { n: 0 };
  const server = new RpcServer<typeof schemas, Replies>({
    bind: 'tcp://127.0.0.1:*',
    schemas,
    log,
    handlers: {
      echo: async ({ value, delayMs }) => {
        if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
        return { value };
      },
      fail: async ({ how }) => {
        if (how === 'typed') throw new FerryError(ErrorCode.CONFLICT, 'typed failure');
        throw new Error('secret internal detail');
      },
      count: async () => ({ n: ++counter.n }),
      blob: async (_c, ctx) => new BulkReply({ parts: ctx.bulk.length }, ctx.bulk.map((b) => Buffer.from(b.toString().toUpperCase()))),
    },
  });
  await server.start();
  cleanups.push(() => server.close());
  return { server, counter };
}

function client(endpoint: string, timeoutMs = 2_000, retries = 0): RpcClient<Requests, Replies> {
  const c = new RpcClient<Requests, Replies>({ endpoint, timeoutMs, retries, log });
  cleanups.push(() => c.close());
  return c;
}

describe('protocol envelopes', () => {
  it('round-trips requests and replies with bulk frames', () => {
    const bulk = [Buffer.from([0, 1, 2, 255]), Buffer.alloc(0)];
    const frames = encodeFrames({ id: 'abc', msgType: 'putBundle', content: { nested: { a: [1, 'two', null] } } }, bulk);
    const { body, bulk: got } = decodeFrames(frames);
    expect(parseRequest(body)).toEqual({ id: 'abc', msgType: 'putBundle', content: { nested: { a: [1, 'two', null] } } });
    expect(got).toEqual(bulk);
    const err = parseReply(decodeFrames(encodeFrames({ id: 'x', ok: false, error: { code: 'NOT_FOUND', message: 'gone', retryable: false } })).body);
    expect(err).toEqual({ id: 'x', ok: false, error: { code: 'NOT_FOUND', message: 'gone', retryable: false } });
  });

  it('rejects malformed frames with typed errors', () => {
    expect(() => decodeFrames([])).toThrow(expect.objectContaining({ code: 'BAD_FRAME' }));
    expect(() => decodeFrames([Buffer.from('OTHER01'), Buffer.from([0x80])])).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_PROTOCOL' }));
    expect(() => decodeFrames([Buffer.from('FERRY01'), Buffer.from([0xc1])])).toThrow(expect.objectContaining({ code: 'BAD_FRAME' }));
    expect(() => decodeFrames([Buffer.from('FERRY01'), Buffer.from([0x01])])).toThrow(expect.objectContaining({ code: 'BAD_FRAME' }));
    expect(() => parseRequest({ msgType: 'x' })).toThrow(expect.objectContaining({ code: 'BAD_FRAME' }));
  });

  it('packs messages into one batch and unpacks them in order; a lone message is its own batch', () => {
    const a = encodeFrames({ id: 'a', msgType: 'echo', content: {} });
    const b = encodeFrames({ id: 'b', msgType: 'blob', content: {} }, [Buffer.from('bulk')]);
    expect(unbatch(packBatch([a, b]))).toEqual([a, b]);
    expect(unbatch(a)).toEqual([a]);
    const header = Buffer.from(BATCH_HEADER);
    const counts = (...n: number[]): Buffer => Buffer.from(new Uint32Array(n).buffer);
    expect(() => unbatch([header])).toThrow(expect.objectContaining({ code: 'BAD_FRAME' }));
    expect(() => unbatch([header, counts(3), ...a])).toThrow(expect.objectContaining({ code: 'BAD_FRAME' }));
    expect(() => unbatch([header, counts(1), ...a])).toThrow(expect.objectContaining({ code: 'BAD_FRAME' }));
    expect(() => unbatch([header, counts(0, 2), ...a])).toThrow(expect.objectContaining({ code: 'BAD_FRAME' }));
  });

  it('maps every error code to an HTTP status and rebuilds unknown codes as INTERNAL', () => {
    for (const code of Object.values(ErrorCode)) expect(httpStatusByCode[code]).toBeGreaterThanOrEqual(400);
    expect(fromWire({ code: 'FROM_THE_FUTURE' as never, message: 'm', retryable: true }).code).toBe('INTERNAL');
    expect(fromWire({ code: 'NOT_FOUND', message: 'm', retryable: false })).toMatchObject({ code: 'NOT_FOUND', message: 'm' });
  });
});

describe('request/reply transport (real sockets)', () => {
  it('settles 1,000 requests in flight over one socket, out of order, each with its own reply', async () => {
    const { server } = await startServer();
    const c = client(server.endpoint);
    const replies = await Promise.all(Array.from({ length: 1_000 }, (_, i) => c.call('echo', { value: i, delayMs: (i * 7) % 5 })));
    expect(replies.map((r) => r.value)).toEqual(Array.from({ length: 1_000 }, (_, i) => i));
    expect(c.inFlight).toBe(0);
  });

  it('sends requests made in one turn as one batch, answered as one batch', async () => {
    // A bare ROUTER in place of the server shows what travels on the wire.
    const router = new Router({ linger: 0 });
    await router.bind('tcp://127.0.0.1:*');
    cleanups.push(() => router.close());
    const c = client(router.lastEndpoint!, 5_000);
    const answers = Promise.all(Array.from({ length: 300 }, (_, i) => c.call('echo', { value: i })));
    const [identity, ...frames] = await router.receive();
    expect(frames[0]!.toString()).toBe(BATCH_HEADER);
    // 256 to a batch at most: the rest follow in a second message.
    const requests = unbatch(frames).map((m) => parseRequest(decodeFrames(m).body));
    const [, ...rest] = await router.receive();
    requests.push(...unbatch(rest).map((m) => parseRequest(decodeFrames(m).body)));
    expect(requests.map((r) => (r.content as { value: number }).value)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    const replies = requests.map((r) => encodeFrames({ id: r.id, ok: true, content: { value: (r.content as { value: number }).value } }));
    await router.send([identity!, ...packBatch(replies)]);
    expect((await answers).map((a) => a.value)).toEqual(Array.from({ length: 300 }, (_, i) => i));
  });

  it('answers a malformed batch with BAD_FRAME (no request id can be read from it) and keeps serving', async () => {
    const { server } = await startServer();
    const raw = new Dealer({ linger: 0 });
    raw.connect(server.endpoint);
    cleanups.push(() => raw.close());
    await raw.send([Buffer.from(BATCH_HEADER), Buffer.from([1, 2, 3])]);
    await raw.send(packBatch([encodeFrames({ id: 'after-bad-batch', msgType: 'count', content: {} })]));
    // The two answers may come as one batch.
    const replies: Buffer[][] = [];
    while (replies.length < 2) replies.push(...unbatch(await raw.receive()));
    expect(replies.map((r) => parseReply(decodeFrames(r).body))).toEqual([
      { id: '', ok: false, error: expect.objectContaining({ code: 'BAD_FRAME' }) },
      { id: 'after-bad-batch', ok: true, content: { n: 1 } },
    ]);
  });

  it('carries typed errors; an unexpected error leaks no detail', async () => {
    const { server } = await startServer();
    const c = client(server.endpoint);
    await expect(c.call('fail', { how: 'typed' })).rejects.toMatchObject({ code: 'CONFLICT', message: 'typed failure' });
    const err = await c.call('fail', { how: 'plain' }).catch((e: FerryError) => e);
    expect(err).toMatchObject({ code: 'INTERNAL' });
    expect(String((err as Error).message)).not.toContain('secret');
  });

  it('moves bulk frames both ways', async () => {
    const { server } = await startServer();
    const c = client(server.endpoint);
    const { content, bulk } = await c.callWithBulk('blob', {}, { bulk: [Buffer.from('ab'), Buffer.from('cd')] });
    expect(content).toEqual({ parts: 2 });
    expect(bulk.map((b) => b.toString())).toEqual(['AB', 'CD']);
  });

  it('resends a timed-out request with the same id, then fails with a retryable TIMEOUT', async () => {
    const silent = new Router({ linger: 0 });
    await silent.bind('tcp://127.0.0.1:*');
    cleanups.push(() => silent.close());
    const c = client(silent.lastEndpoint!, 150, 2);
    const pending = c.call('count', {});
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const [, ...frames] = await silent.receive();
      ids.push(parseRequest(decodeFrames(frames).body).id);
    }
    await expect(pending).rejects.toMatchObject({ code: 'TIMEOUT', retryable: true });
    expect(new Set(ids).size).toBe(1);
  });

  it('answers a resent request from memory instead of running it twice', async () => {
    const { server, counter } = await startServer();
    const raw = new Dealer({ linger: 0 });
    raw.connect(server.endpoint);
    cleanups.push(() => raw.close());
    const frames = encodeFrames({ id: 'same-id-1', msgType: 'count', content: {} });
    await raw.send(frames);
    const first = parseReply(decodeFrames(await raw.receive()).body);
    await raw.send(frames);
    const second = parseReply(decodeFrames(await raw.receive()).body);
    expect(first).toEqual(second);
    expect(counter.n).toBe(1);
  });

  it('rejects every pending request with CLOSED when the client closes', async () => {
    const silent = new Router({ linger: 0 });
    await silent.bind('tcp://127.0.0.1:*');
    cleanups.push(() => silent.close());
    const c = new RpcClient<Requests, Replies>({ endpoint: silent.lastEndpoint!, timeoutMs: 10_000, retries: 0, log });
    const pending = Array.from({ length: 5 }, () => c.call('count', {}));
    await c.close();
    const results = await Promise.allSettled(pending);
    expect(results.every((r) => r.status === 'rejected' && (r.reason as FerryError).code === 'CLOSED')).toBe(true);
    await expect(c.call('count', {})).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('gets answers from a server that binds after the client connected', async () => {
    // A free port from the OS (released synchronously, unlike a ZeroMQ socket's).
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const endpoint = `tcp://127.0.0.1:${port}`;
    const c = client(endpoint, 5_000);
    const answer = c.call('echo', { value: 'late' });
    const server = new RpcServer<typeof schemas, Replies>({
      bind: endpoint,
      schemas,
      log,
      handlers: {
        echo: async ({ value }) => ({ value }),
        fail: async () => Promise.reject(new Error('unused')),
        count: async () => ({ n: 0 }),
        blob: async () => new BulkReply({ parts: 0 }, []),
      },
    });
    await server.start();
    cleanups.push(() => server.close());
    expect(await answer).toEqual({ value: 'late' });
  });
});
