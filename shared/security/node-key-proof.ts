import { createHmac, createPrivateKey, createPublicKey, diffieHellman, timingSafeEqual } from 'node:crypto';
import type { ClientCurve } from './curve-client.js';
import type { CurveKeyPair } from './curve-keys.js';
import { z85Decode } from './z85.js';

/**
 * A worker's proof, in its hello, that it holds the secret key of the public key it names.
 *
 * Why: ZeroMQ tells a server nothing about which CURVE key sent a message, so the worker names
 * its key in its hello and the api checks that key against the allowlist, at hello and whenever
 * the allowlist changes. A bare claim would let a node whose key was removed name another node's
 * (public) key and stay. The proof is an HMAC of the node id keyed with the X25519 secret the
 * worker's key pair shares with the api's — CurveZMQ keys are Curve25519 keys — which only the
 * holder of either secret key can make. It travels inside the encrypted link, so nobody else sees
 * it to replay it.
 */
const CONTEXT = 'ferry node key proof 1\0';

/** The proof `own` (a worker's key pair) gives the server whose public key is `serverPublicKey`, for `nodeId`. */
export function nodeKeyProof(own: CurveKeyPair, serverPublicKey: string, nodeId: string): string {
  return proofWith(sharedSecret(own, serverPublicKey), nodeId);
}

/** What a worker's hello adds with CurveZMQ: its public key and the proof; nothing without. */
export function nodeKeyClaim(curve: ClientCurve | null, nodeId: string): { publicKey?: string; keyProof?: string } {
  return curve ? { publicKey: curve.keys.publicKey, keyProof: nodeKeyProof(curve.keys, curve.serverKey, nodeId) } : {};
}

/** Whether `proof` shows that the sender of a hello for `nodeId` holds the secret of `claimedKey` (checked with the server's `own` pair). */
export function verifyNodeKeyProof(own: CurveKeyPair, claimedKey: string, nodeId: string, proof: string): boolean {
  let expected: Buffer;
  try {
    expected = Buffer.from(proofWith(sharedSecret(own, claimedKey), nodeId), 'base64url');
  } catch {
    return false; // a claimed key that is not a Curve25519 point
  }
  const given = Buffer.from(proof, 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function proofWith(secret: Buffer, nodeId: string): string {
  return createHmac('sha256', secret).update(CONTEXT).update(nodeId).digest('base64url');
}

function sharedSecret(own: CurveKeyPair, peerPublicKey: string): Buffer {
  const privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: raw(own.secretKey), x: raw(own.publicKey) }, format: 'jwk' });
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: raw(peerPublicKey) }, format: 'jwk' });
  return diffieHellman({ privateKey, publicKey });
}

function raw(z85: string): string {
  const bytes = z85Decode(z85);
  if (bytes?.length !== 32) throw new Error('not a CurveZMQ key');
  return bytes.toString('base64url');
}
