import type { Socket } from 'zeromq';
import type { Logger } from '../logger.js';
import type { CurveKeyPair } from './curve-keys.js';

/** What a CURVE client socket needs: its own key pair and the server's public key. */
export interface ClientCurve {
  keys: CurveKeyPair;
  serverKey: string;
}

/** Socket options of a CURVE client; none without CURVE. */
export function curveClientOptions(curve: ClientCurve | null | undefined): {
  curveServerKey?: string;
  curvePublicKey?: string;
  curveSecretKey?: string;
} {
  return curve ? { curveServerKey: curve.serverKey, curvePublicKey: curve.keys.publicKey, curveSecretKey: curve.keys.secretKey } : {};
}

/**
 * Follows a client socket's handshakes: each time the server refuses this client's key, logs it
 * (an error naming the key and what to run, once per run of refusals) and calls `onRefused`;
 * `onAccepted` after each handshake that succeeds. libzmq does not reconnect after a refused
 * handshake, so the owner decides when to try again. Nothing to follow without CURVE.
 */
export function watchHandshakes(
  sock: Socket,
  curve: ClientCurve | null | undefined,
  server: string,
  log: Logger,
  on: { refused: () => void; accepted?: () => void },
): void {
  if (!curve) return;
  let refusedBefore = false;
  let failedBefore = false;
  sock.events.on('handshake', () => {
    refusedBefore = false;
    failedBefore = false;
    on.accepted?.();
  });
  // Not a refusal: the handshake itself failed, which libzmq retries on its own. The likely causes
  // are a wrong server key or a server without CurveZMQ; said once per run of failures.
  const failed = (): void => {
    if (!failedBefore) log.error({ server, serverKey: curve.serverKey }, "handshake failed: is this the server's public key, and does it run with CurveZMQ?");
    failedBefore = true;
  };
  sock.events.on('handshake:error:protocol', failed);
  sock.events.on('handshake:error:other', failed);
  sock.events.on('handshake:error:auth', () => {
    if (!refusedBefore) {
      log.error({ server, publicKey: curve.keys.publicKey }, "the server refused this daemon's key: allow it there with `ferry node allow <key>`; trying again");
    }
    refusedBefore = true;
    on.refused();
  });
}
