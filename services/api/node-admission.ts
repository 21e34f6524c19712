import type { ServerCurve } from '../../shared/security/curve-server.js';
import { verifyNodeKeyProof } from '../../shared/security/node-key-proof.js';
import type { WorkerToApiContent } from '../../shared/protocol/worker-messages.js';

/**
 * Which worker nodes the api serves when CurveZMQ is on.
 *
 * ZAP refuses a handshake with a key that is not allowed, but ZeroMQ neither says which key
 * sent a message nor closes a connection made with a key that has since left the allowlist. So a
 * worker names its key in its hello, with a proof that it holds the secret key; the api serves
 * the node only while that key is allowed, checked at the hello and again at every change of the
 * allowlist. A node whose key was removed is refused from then on, on the connection it still
 * has, while ZAP refuses any new one.
 */
export class NodeAdmission {
  /** Node → the key it proved at its hello. */
  private readonly keyOf = new Map<string, string>();
  /** Nodes refused since their last good hello: every message of theirs is answered NOT_ALLOWED. */
  private readonly refusedNodes = new Set<string>();

  constructor(private readonly curve: ServerCurve) {}

  /** Null when the node may join with this hello, else why it may not. */
  admit(nodeId: string, hello: WorkerToApiContent<'hello'>): string | null {
    const { publicKey, keyProof } = hello;
    let why: string | null = null;
    if (!publicKey || !keyProof) why = 'its hello names no CurveZMQ key';
    else if (!verifyNodeKeyProof(this.curve.keys, publicKey, nodeId, keyProof)) why = 'its hello does not prove it holds the key it names';
    // The handshake that brought this hello just read the files again if the key was new to it.
    else if (!this.curve.allowed.has(publicKey)) why = 'its key is not allowed';
    if (why) {
      this.refuse(nodeId);
      return why;
    }
    this.keyOf.set(nodeId, publicKey!);
    this.refusedNodes.delete(nodeId);
    return null;
  }

  isRefused(nodeId: string): boolean {
    return this.refusedNodes.has(nodeId);
  }

  /** The nodes that joined with one of `removedKeys`, refused from now on. */
  dropKeys(removedKeys: string[]): { nodeId: string; publicKey: string }[] {
    const removed = new Set(removedKeys);
    const dropped = [...this.keyOf].filter(([, key]) => removed.has(key)).map(([nodeId, publicKey]) => ({ nodeId, publicKey }));
    for (const { nodeId } of dropped) this.refuse(nodeId);
    return dropped;
  }

  private refuse(nodeId: string): void {
    this.keyOf.delete(nodeId);
    this.refusedNodes.add(nodeId);
  }
}
