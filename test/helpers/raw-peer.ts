import { Dealer } from 'zeromq';
import { decodeFrames, parseReply } from '../../shared/protocol/envelope.js';
import { curveClientOptions } from '../../shared/security/curve-client.js';
import { curveTo } from './curve.js';

export interface RawPeer {
  /** Sends hand-made frames to a request/reply daemon; resolves with the reply's error code, or 'ok'. */
  ask(frames: Buffer[]): Promise<string>;
  /** Sends frames and waits for nothing (the api's worker socket answers with messages of its own). */
  send(frames: Buffer[]): Promise<void>;
  /** The next message the daemon sent this peer, as its frames. */
  receive(): Promise<Buffer[]>;
  /** Resolves once the daemon has dropped this peer's connection (ZeroMQ then connects again). */
  dropped(): Promise<void>;
  close(): void;
}

/**
 * A bare DEALER for sending hand-made frames to a daemon, optionally under a routing id of its
 * choosing (the api's worker socket takes a worker's routing id as its node id). It connects as
 * the test process's allowed key.
 */
export function rawPeer(endpoint: string, options: { routingId?: string } = {}): RawPeer {
  const sock = new Dealer({
    linger: 0,
    ...(options.routingId !== undefined ? { routingId: options.routingId } : {}),
    ...curveClientOptions(curveTo(endpoint)),
  });
  const drops: (() => void)[] = [];
  sock.events.on('disconnect', () => drops.splice(0).forEach((resolve) => resolve()));
  sock.connect(endpoint);
  return {
    ask: async (frames) => {
      await sock.send(frames);
      const reply = parseReply(decodeFrames(await sock.receive()).body);
      return reply.ok ? 'ok' : reply.error.code;
    },
    send: (frames) => sock.send(frames),
    receive: () => sock.receive(),
    dropped: () => new Promise<void>((resolve) => drops.push(resolve)),
    close: () => sock.close(),
  };
}
