import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ApiClient } from '../../services/cli/api-client.js';
import { callEvents, followCall, NoEventStream } from '../../services/cli/call-events.js';
import { CliError, Exit } from '../../services/cli/cli-error.js';
import { storedLogLines, unshownLines } from '../../services/cli/logs-view.js';
import { readSse, type SseMessage } from '../../packages/client/src/sse.js';
import { callRecord } from '../helpers/call-record.js';

const record = (status: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ ...callRecord({}, { legacy: true }), status, ...extra });

const sse = (event: string, data: unknown): string => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/** Cuts `bytes` into pieces of 1, 2, 3, 5 and 8 bytes in turn: inside lines, CRLFs and UTF-8 characters. */
function awkwardChunks(bytes: Buffer): Buffer[] {
  const sizes = [1, 2, 3, 5, 8];
  const out: Buffer[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length]!;
    out.push(bytes.subarray(at, at + size));
    at += size;
  }
  return out;
}

async function* body(chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* chunks;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** What `promise` was rejected with (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<CliError> {
  const err: unknown = await promise.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CliError);
  return err as CliError;
}

type Route = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** A real HTTP server on a free port, standing in for the api's events route (not in this build). */
async function serve(route: Route): Promise<ApiClient> {
  const server = createServer((req, res) => {
    void Promise.resolve(route(req, res)).catch((err: unknown) => res.destroy(err as Error));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return new ApiClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
}

/** Opens an event stream and writes `chunks` one at a time, each flushed before the next. */
async function stream(res: ServerResponse, chunks: (string | Buffer)[]): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  for (const chunk of chunks) await new Promise<void>((resolve, reject) => res.write(chunk, (err) => (err ? reject(err) : resolve())));
}

const notFound = (res: ServerResponse, message: string): void => {
  res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'NOT_FOUND', message } }));
};

describe('readSse: the text/event-stream format', () => {
  // Everything awkward at once: a BOM, comments, CRLF, CR and LF line ends, a data field over
  // several lines, a field with no space after its colon, fields the CLI ignores, a message left
  // open when the body ends.
  const text =
    '\uFEFF: keep-alive\r\n\r\n' +
    'event: call\r\ndata: {"status":"PENDING"}\r\n\r\n' +
    'id: 4\rretry: 1000\revent:log\rdata:{"line":"naïve — ✓"}\r\r' +
    'data: first\ndata:\ndata:  third\n\n' +
    ': keep-alive\n' +
    'event: progress\ndata: {"attempt":1,\ndata: "progress":0.5}\n\n' +
    'event: end\ndata: {"status":"DONE"}\n';
  const expected: SseMessage[] = [
    { event: 'call', data: '{"status":"PENDING"}' },
    { event: 'log', data: '{"line":"naïve — ✓"}' },
    { event: 'message', data: 'first\n\n third' },
    { event: 'progress', data: '{"attempt":1,\n"progress":0.5}' },
  ];
  const bytes = Buffer.from(text);

  it('reads a stream in one chunk', async () => {
    expect(await collect(readSse(body([bytes])))).toEqual(expected);
  });

  it('reads the same messages whichever byte the stream is cut at', async () => {
    for (let cut = 1; cut < bytes.length; cut++) {
      const got = await collect(readSse(body([bytes.subarray(0, cut), bytes.subarray(cut)])));
      expect(got, `cut at byte ${cut}`).toEqual(expected);
    }
  });

  it('reads a stream arriving a few bytes at a time, and one byte at a time', async () => {
    expect(await collect(readSse(body(awkwardChunks(bytes))))).toEqual(expected);
    expect(await collect(readSse(body([...bytes].map((b) => Uint8Array.of(b)))))).toEqual(expected);
  });

  it('takes a CR ending one chunk and a LF opening the next as one line end, not two', async () => {
    // Read as two line ends, the LF would be a blank line closing the message after its first line.
    const got = await collect(readSse(body([Buffer.from('data: a\r'), Buffer.from('\ndata: b\r'), Buffer.from('\n\r'), Buffer.from('\n')])));
    expect(got).toEqual([{ event: 'message', data: 'a\nb' }]);
  });
});

describe('callEvents: a call watched over HTTP', () => {
  const pending = record('PENDING');
  const running = record('RUNNING', { workerId: 'cli-node', startedAt: 1_700_000_000_100 });
  const done = record('DONE', { result: '[4,6,4,3]', startedAt: 1_700_000_000_100, finishedAt: 1_700_000_000_900, progress: 1, metrics: { rows: 120 } });
  const progress = { attempt: 1, executionId: 'e1', progress: { current: 3, total: 10 }, metrics: { rows: 120 } };
  const log = { attempt: 1, executionId: 'e1', line: 'rolled a 4 — nice' };

  it('yields typed events from a stream cut into awkward chunks, and stops at end', async () => {
    let path = '';
    const api = await serve(async (req, res) => {
      path = req.url ?? '';
      const whole =
        ': keep-alive\r\n\r\n' +
        sse('call', pending).replaceAll('\n', '\r\n') +
        sse('call', running) +
        // A data field over two lines: the JSON is whole once they are joined.
        `event: progress\ndata: ${JSON.stringify(progress).replace(',"progress"', ',\ndata: "progress"')}\n\n` +
        ': keep-alive\n\n' +
        sse('log', log) +
        sse('heartbeat', { from: 'a newer api' }) +
        sse('call', done) +
        sse('end', done);
      await stream(res, awkwardChunks(Buffer.from(whole)));
      // The stream is left open: the reader must finish on `end`, not on the close.
    });
    const events = await collect(callEvents(api, '7'));
    expect(path).toBe('/v1/calls/7/events');
    expect(events).toEqual([
      { event: 'call', data: pending },
      { event: 'call', data: running },
      { event: 'progress', data: progress },
      { event: 'log', data: log },
      { event: 'call', data: done },
      { event: 'end', data: done },
    ]);
  });

  it('gives a late client the state and the end at once; followCall resolves with the final record', async () => {
    const api = await serve(async (_req, res) => {
      await stream(res, [sse('call', done) + sse('end', done)]);
      res.end();
    });
    const seen: string[] = [];
    const final = await followCall(api, 'V1StGXR8_Z5jdHi6B-myT', (e) => seen.push(e.event));
    expect(seen).toEqual(['call', 'end']);
    expect(final).toMatchObject({ status: 'DONE', result: '[4,6,4,3]' });
  });

  it('fails with a clear error, exit 1, when the stream closes before end', async () => {
    const api = await serve(async (_req, res) => {
      await stream(res, [sse('call', pending), sse('call', running).slice(0, 20)]);
      res.end();
    });
    const seen: string[] = [];
    const err = await rejection(followCall(api, '7', (e) => seen.push(e.event)));
    expect(seen).toEqual(['call']);
    expect(err.exitCode).toBe(Exit.FAILED);
    expect(err.message).toMatch(/^the cluster closed the event stream of call 7 before the call ended/);
  });

  it('fails the same way when the connection is cut mid-stream', async () => {
    const api = await serve(async (_req, res) => {
      await stream(res, [sse('call', running), 'event: log\ndata: {"attem']);
      res.socket?.destroy();
    });
    const err = await rejection(collect(callEvents(api, '7')));
    expect(err.exitCode).toBe(Exit.FAILED);
    expect(err.message).toContain('the cluster closed the event stream of call 7 before the call ended');
  });

  it('reports an unknown call as NOT_FOUND', async () => {
    const api = await serve((req, res) => notFound(res, `call "${req.url?.split('/')[3] ?? ''}" not found`));
    const err = await rejection(collect(callEvents(api, 'nope')));
    expect(err.message).toBe('NOT_FOUND: call "nope" not found');
    expect(err).not.toBeInstanceOf(NoEventStream);
  });

  it('tells an api without the events route from an unknown call', async () => {
    const api = await serve((req, res) => {
      if (req.url === '/v1/calls/7') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(running));
      else notFound(res, `no route GET ${req.url ?? ''}`);
    });
    const err = await rejection(collect(callEvents(api, '7')));
    expect(err).toBeInstanceOf(NoEventStream);
    expect(err.message).toContain('does not stream call events');
  });

  it('refuses an event it cannot read, and a reply that is not an event stream', async () => {
    const bad = await serve(async (_req, res) => {
      await stream(res, [sse('call', pending), sse('progress', { attempt: 'one' })]);
    });
    expect((await rejection(collect(callEvents(bad, '7')))).message).toMatch(/"progress" event that does not read \(attempt: /);

    const html = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>');
    });
    expect((await rejection(collect(callEvents(html, '7')))).message).toContain('with text/html, not an event stream');
  });

  it('says so when no cluster answers', async () => {
    const err = await rejection(collect(callEvents(new ApiClient('http://127.0.0.1:9'), '7')));
    expect(err.message).toContain('cannot reach a Ferry cluster at http://127.0.0.1:9');
  });
});

describe('ferry logs -f: each ctx.log line printed once', () => {
  it('reads the kept lines', () => {
    expect(storedLogLines({ log: 'a\r\nb\n' })).toEqual(['a', 'b']);
    expect(storedLogLines({ log: '' })).toEqual([]);
    expect(storedLogLines({})).toEqual([]);
  });

  it('leaves out the lines shown live, one stored line for each shown one', () => {
    // Joined late: the first "tick" and "start" were missed.
    expect(unshownLines(['start', 'tick', 'tick', 'done'], ['tick', 'done'])).toEqual(['start', 'tick']);
    expect(unshownLines(['a', 'b'], [])).toEqual(['a', 'b']);
    expect(unshownLines(['a'], ['a', 'a'])).toEqual([]);
  });
});
