import { Router } from 'zeromq';
import { BadRequestError, ErrorCode, FerryError, toFerryError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { unbatch } from '../../shared/protocol/batch.js';
import { decodeEvent, encodeEvent } from '../../shared/protocol/envelope.js';
import { workerToApiSchemas, type ApiToWorker, type WorkerToApi } from '../../shared/protocol/worker-messages.js';
import type { Refusals } from '../../shared/refusals.js';
import { CurveServerGuard, type ServerCurve } from '../../shared/security/curve-server.js';
import { MAX_FRAME_BYTES } from '../../shared/transport/frame-limit.js';
import { Outbox } from '../../shared/transport/outbox.js';
import { NodeAdmission } from './node-admission.js';

export interface WorkerChannelOptions {
  log: Logger;
  /** Where messages refused on this socket are counted (the api's one counter). */
  refusals: Refusals;
  /** Every message of a node the api serves. */
  onMessage: (nodeId: string, msg: WorkerToApi) => void;
  /** A node is no longer served (its key is not, or no longer, allowed): it is lost now. */
  onRefused: (nodeId: string, why: string) => void;
  /** CurveZMQ: the api's keys and the allowed worker keys. Null: plain ZeroMQ (FERRY_CURVE=off). */
  curve: ServerCurve | null;
}

/**
 * The api's ROUTER for workers: each worker's DEALER routing id is its node id, so a dispatch is
 * sent to exactly one node. A message that does not decode, or a hello that names another node
 * than its routing id, is dropped, counted, and answered with a `refused` naming the code. With
 * CurveZMQ, only allowed keys get through the handshake, and a node is served only while the key
 * its hello proved is allowed (see {@link NodeAdmission}); a node that is not is answered
 * NOT_ALLOWED.
 */
export class WorkerChannel {
  private readonly sock: Router;
  private readonly outbox: Outbox;
  private readonly guard: CurveServerGuard | undefined;
  private readonly admission: NodeAdmission | undefined;
  private readonly stopWatching: (() => void) | undefined;
  private closed = false;
  endpoint = '';

  constructor(private readonly opts: WorkerChannelOptions) {
    const { curve, log } = opts;
    this.guard = curve ? new CurveServerGuard(curve, 'workers', log, { refusals: opts.refusals }) : undefined;
    this.admission = curve ? new NodeAdmission(curve) : undefined;
    this.sock = new Router({
      linger: 0,
      maxMessageSize: MAX_FRAME_BYTES,
      sendHighWaterMark: 100_000,
      receiveHighWaterMark: 100_000,
      ...this.guard?.socketOptions(),
    });
    this.outbox = new Outbox((frames) => this.sock.send(frames), { routed: true });
    this.stopWatching = curve?.allowed.onRemoved((keys) => this.dropKeys(keys));
  }

  async bind(endpoint: string): Promise<string> {
    // The gate answers before the first worker can knock.
    await this.guard?.start();
    await this.sock.bind(endpoint);
    this.endpoint = this.sock.lastEndpoint ?? endpoint;
    void this.loop().catch((err: unknown) => {
      if (!this.closed) this.opts.log.error({ err }, 'worker channel loop failed');
    });
    return this.endpoint;
  }

  send<M extends ApiToWorker>(nodeId: string, msgType: M['msgType'], content: M['content']): void {
    this.sendTo(Buffer.from(nodeId), msgType, content);
  }

  close(): void {
    this.closed = true;
    this.stopWatching?.();
    this.sock.close();
    this.guard?.close();
  }

  private sendTo<M extends ApiToWorker>(routingId: Buffer, msgType: M['msgType'], content: M['content']): void {
    this.outbox.send([routingId, ...encodeEvent(msgType, content)]).catch((err: unknown) => {
      if (!this.closed) this.opts.log.warn({ err, nodeId: routingId.toString(), msgType }, 'send to worker failed');
    });
  }

  private async loop(): Promise<void> {
    for await (const [id, ...frames] of this.sock) {
      if (!id) continue;
      try {
        for (const message of unbatch(frames)) this.receive(id, message);
      } catch (err) {
        this.refuse(id, err);
      }
    }
  }

  private receive(id: Buffer, frames: Buffer[]): void {
    const nodeId = id.toString();
    let msg: WorkerToApi;
    try {
      msg = decodeEvent(frames, workerToApiSchemas) as WorkerToApi;
      // Everything the api sends a node goes to its routing id: a hello naming another node would
      // have that node's calls sent to whoever said it.
      if (msg.msgType === 'hello' && msg.content.nodeId !== nodeId) {
        throw new BadRequestError(`hello names node "${msg.content.nodeId}" but comes from "${nodeId.slice(0, 64)}"`);
      }
    } catch (err) {
      this.refuse(id, err);
      return;
    }
    if (this.admitted(id, msg)) this.opts.onMessage(nodeId, msg);
  }

  /** Whether the api serves the node that sent `msg`; a node it does not serve is told so. */
  private admitted(id: Buffer, msg: WorkerToApi): boolean {
    if (!this.admission) return true;
    const nodeId = id.toString();
    if (msg.msgType === 'hello') {
      const why = this.admission.admit(nodeId, msg.content);
      if (!why) return true;
      this.opts.log.warn({ nodeId, publicKey: msg.content.publicKey ?? null, why }, 'node refused');
      this.notAllowed(id, why);
      return false;
    }
    if (!this.admission.isRefused(nodeId)) return true;
    this.refuse(id, new FerryError(ErrorCode.NOT_ALLOWED, 'this node is not allowed: its key is not on the allowlist'));
    return false;
  }

  private dropKeys(removedKeys: string[]): void {
    for (const { nodeId, publicKey } of this.admission?.dropKeys(removedKeys) ?? []) {
      this.opts.log.warn({ nodeId, publicKey }, 'node key removed from the allowlist: node dropped');
      this.notAllowed(Buffer.from(nodeId), 'its key was removed from the allowlist');
    }
  }

  /** Refuses the node itself, not one message: it is lost to the scheduler from now on. */
  private notAllowed(id: Buffer, why: string): void {
    this.refuse(id, new FerryError(ErrorCode.NOT_ALLOWED, `this node is not allowed: ${why}`));
    this.opts.onRefused(id.toString(), why);
  }

  private refuse(id: Buffer, err: unknown): void {
    const { code, message } = toFerryError(err);
    const nodeId = id.toString('latin1').slice(0, 64);
    this.opts.log.debug({ code, nodeId }, 'bad message from worker dropped');
    this.opts.refusals.count(code, { nodeId, message });
    this.sendTo(id, 'refused', { code, message });
  }
}
