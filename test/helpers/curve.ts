import { curveKeyPair } from 'zeromq';
import { allowKey } from '../../shared/security/allowlist-file.js';
import type { ClientCurve } from '../../shared/security/curve-client.js';
import { curveDirOf } from '../../shared/security/key-files.js';

/**
 * The test process's own CurveZMQ key pair. Every daemon a test starts lists it in its data
 * folder's allowlist (see spawnDaemon), so the helpers' clients and raw peers (db clients,
 * FakeNode, rawPeer) connect as an allowed client, as an operator's tool on another host would.
 */
export const testKeys = curveKeyPair();

/** Server endpoint → the public key its daemon logged when it started listening. */
const serverKeys = new Map<string, string>();

/** Whether daemons started with `env` (over the test process's own) run with CurveZMQ. */
export function curveOn(env: Record<string, string>): boolean {
  return (env['FERRY_CURVE'] ?? process.env['FERRY_CURVE']) !== 'off';
}

/** Allows the test process's key on the daemons of `dataDir`. */
export async function allowTestKey(dataDir: string): Promise<void> {
  await allowKey(curveDirOf(dataDir), testKeys.publicKey, 'ferry-tests');
}

export function rememberServerKey(endpoint: string, publicKey: string): void {
  serverKeys.set(endpoint, publicKey);
}

/**
 * How the test process reaches the daemon serving `endpoint`: CurveZMQ with the key that daemon
 * logged, or plain ZeroMQ when it runs without (FERRY_CURVE=off, or a server made in the test).
 */
export function curveTo(endpoint: string): ClientCurve | null {
  const serverKey = serverKeys.get(endpoint);
  return serverKey ? { keys: testKeys, serverKey } : null;
}
