import { Dealer } from 'zeromq';
import { decodeFrames, parseReply } from '../../shared/protocol/envelope.js';
import { curveClientOptions } from '../../shared/security/curve-client.js';
import { curveTo } from './curve.js';

/**
 * A bare DEALER for sending hand-made frames to a daemon: `ask` sends frames and resolves with
 * the reply's error code, or 'ok'. It connects as the test process's allowed key.
 */
export function rawPeer(endpoint: string): { ask(frames: Buffer[]): Promise<string>; close(): void } {
  const sock = new Dealer({ linger: 0, ...curveClientOptions(curveTo(endpoint)) });
  sock.connect(endpoint);
  return {
    ask: async (frames) => {
      await sock.send(frames);
      const reply = parseReply(decodeFrames(await sock.receive()).body);
      return reply.ok ? 'ok' : reply.error.code;
    },
    close: () => sock.close(),
  };
}
