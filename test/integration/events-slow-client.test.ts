import http, { type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import type { Response } from 'express';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { CallEvents } from '../../services/api/calls/call-events.js';
import { MAX_UNSENT_BYTES, streamClusterEvents } from '../../services/api/http/cluster-event-stream.js';
import type { ApiDeps } from '../../services/api/http/deps.js';
import type { Call } from '../../shared/protocol/domain.js';
import { waitUntil } from '../helpers/temp.js';

/**
 * A client of GET /v1/events that never reads, on a real HTTP server and a real socket. The
 * scheduler stands in by its event hub alone: what is tested is the stream, and flooding a whole
 * cluster's calls through it would take tens of thousands of calls.
 */
describe('a client of the cluster event stream that does not read', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('is dropped once more than MAX_UNSENT_BYTES wait for it, and the stream stops listening', async () => {
    const events = new CallEvents();
    let listening = 0;
    const counted: CallEvents = Object.assign(Object.create(events) as CallEvents, {
      subscribeAll: (listener: Parameters<CallEvents['subscribeAll']>[0]) => {
        listening += 1;
        const stop = events.subscribeAll(listener);
        return () => {
          listening -= 1;
          return stop();
        };
      },
    });
    const warnings: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => warnings.push(String((JSON.parse(line) as { msg: string }).msg)) });
    const deps = { scheduler: { calls: { events: counted, funcNameOf: () => undefined } }, log } as unknown as ApiDeps;
    let served: ServerResponse | undefined;
    const server = http.createServer((_req, res) => {
      served = res;
      streamClusterEvents(deps, res as unknown as Response, undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));

    const socket = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
    cleanups.push(() => void socket.destroy());
    // Never read: what the server writes piles up in the kernel's buffers, then in the server's.
    socket.pause();
    socket.write('GET /v1/events HTTP/1.1\r\nHost: ferry\r\nAccept: text/event-stream\r\n\r\n');
    await waitUntil(() => listening === 1, 'the stream listens to every call');

    const call = { id: 'c'.repeat(21), callNum: 1, funcName: 'f'.repeat(128), version: 1, status: 'PENDING', sessionId: null, workerId: null, createdAt: 0, startedAt: null, finishedAt: null, executions: [] } as unknown as Call;
    let sent = 0;
    let mostUnsent = 0;
    await waitUntil(
      () => {
        for (let i = 0; i < 1000 && listening > 0; i += 1) {
          events.emit(call.id, { type: 'status', call: { ...call, callNum: (sent += 1) }, from: null });
          mostUnsent = Math.max(mostUnsent, served?.writableLength ?? 0);
        }
        return listening === 0;
      },
      'the stream dropped the client that does not read',
      60_000,
    );
    expect(warnings).toContain('event stream client too slow: dropped');
    // Never more than one event past the bound was held for it.
    expect(mostUnsent).toBeLessThanOrEqual(MAX_UNSENT_BYTES + 1024);
    expect(served?.destroyed).toBe(true);
  });
});
