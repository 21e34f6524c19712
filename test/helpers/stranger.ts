import { onTestFinished } from 'vitest';
import { curveKeyPair, Dealer } from 'zeromq';
import { encodeFrames } from '../../shared/protocol/envelope.js';
import { curveClientOptions } from '../../shared/security/curve-client.js';

/** The handshake outcomes a client socket's monitor reports. */
export type Outcome = 'handshake' | 'handshake:error:auth' | 'handshake:error:protocol' | 'handshake:error:other';

const ping = (): Buffer[] => encodeFrames({ id: `stranger-${Math.random()}`, msgType: 'ping', content: {} });

/**
 * A DEALER that knocks at `endpoint` with a key pair no server allows (or, without `serverKey`,
 * with no CURVE at all), a request queued; resolves with the first handshake outcome its own
 * monitor reports. Closed when the test ends.
 */
export function stranger(endpoint: string, serverKey: string | null): { publicKey: string; outcome: Promise<Outcome> } {
  const keys = curveKeyPair();
  const sock = new Dealer({ linger: 0, ...(serverKey ? curveClientOptions({ keys, serverKey }) : {}) });
  onTestFinished(() => sock.close());
  const outcome = new Promise<Outcome>((resolve) => {
    for (const type of ['handshake', 'handshake:error:auth', 'handshake:error:protocol', 'handshake:error:other'] as const) sock.events.on(type, () => resolve(type));
  });
  sock.connect(endpoint);
  void sock.send(ping()).catch(() => undefined);
  return { publicKey: keys.publicKey, outcome };
}
