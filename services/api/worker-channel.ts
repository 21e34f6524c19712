import { Router } from 'zeromq';
import { ErrorCode } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { decodeEvent, encodeEvent } from '../../shared/protocol/envelope.js';
import { workerToApiSchemas, type ApiToWorker, type WorkerToApi } from '../../shared/protocol/worker-messages.js';
import { CurveServerGuard, type ServerCurve } from '../../shared/security/curve-server.js';
import { Outbox } from '../../shared/transport/outbox.js';
import { unbatchOrLog } from '../../shared/transport/unbatch-or-log.js';
import { NodeAdmission } from './node-admission.js';

export interface WorkerChannelOptions {
  log: Logger;
  /** Every message of a node the api serves. */
  onMessage: (nodeId: string, msg: WorkerToApi) => void;
  /** A node is no longer served (its key is not, or no longer, allowed): it is lost now. */
  onRefused: (nodeId: string, why: string) => void;
  /** CurveZMQ: the api's keys and the allowed worker keys. Null: plain ZeroMQ (FERRY_CURVE=off). */
  curve: ServerCurve | null;
}

/**
 * The api's ROUTER for workers: each worker's DEALER routing id is its node id, so a dispatch is
 * sent to exactly one node. Messages that do not decode are logged and dropped. With CurveZMQ,
 * only allowed keys get through the handshake, and a node is served only while the key its hello
 * proved is allowed (see {@link NodeAdmission}).
 */
export class WorkerChannel {
  private readonly sock: Router;
  private readonly outbox: Outbox;
  private readonly guard: CurveServerGuard | undefined;
  private readonly admission: NodeAdmission | undefined;
  private stopWatching: (() => void) | undefined;
  private closed = false;
  endpoint = '';

  constructor(private readonly opts: WorkerChannelOptions) {
    const { curve, log } = opts;
    this.guard = curve ? new CurveServerGuard(curve, 'workers', log) : undefined;
    this.admission = curve ? new NodeAdmission(curve) : undefined;
    this.sock = new Router({ linger: 0, sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000, ...this.guard?.socketOptions() });
    this.outbox = new Outbox((frames) => this.sock.send(frames), { routed: true });
    this.stopWatching = curve?.allowed.onRemoved((keys) => this.dropKeys(keys));
  }

  async bind(endpoint: string): Promise<string> {
    await this.guard?.start();
    await this.sock.bind(endpoint);
    this.endpoint = this.sock.lastEndpoint ?? endpoint;
    void this.loop().catch((err: unknown) => {
      if (!this.closed) this.opts.log.error({ err }, 'worker channel loop failed');
    });
    return this.endpoint;
  }

  send<M extends ApiToWorker>(nodeId: string, msgType: M['msgType'], content: M['content']): void {
    this.outbox.send([Buffer.from(nodeId), ...encodeEvent(msgType, content)]).catch((err: unknown) => {
      if (!this.closed) this.opts.log.warn({ err, nodeId, msgType }, 'send to worker failed');
    });
  }

  close(): void {
    this.closed = true;
    this.stopWatching?.();
    this.sock.close();
    this.guard?.close();
  }

  private async loop(): Promise<void> {
    for await (const [id, ...frames] of this.sock) {
      if (!id) continue;
      const nodeId = id.toString();
      for (const message of unbatchOrLog(frames, this.opts.log)) {
        let msg: WorkerToApi;
        try {
          msg = decodeEvent(message, workerToApiSchemas) as WorkerToApi;
        } catch (err) {
          this.opts.log.warn({ err, nodeId }, 'bad message from worker dropped');
          continue;
        }
        if (this.admitted(nodeId, msg)) this.opts.onMessage(nodeId, msg);
      }
    }
  }

  /** Whether the api serves the node that sent `msg`; a refused node is told so. */
  private admitted(nodeId: string, msg: WorkerToApi): boolean {
    if (!this.admission) return true;
    if (msg.msgType === 'hello') {
      const why = this.admission.admit(nodeId, msg.content);
      if (!why) return true;
      this.opts.log.warn({ nodeId, publicKey: msg.content.publicKey ?? null, why }, 'node refused');
      this.refuse(nodeId, why);
      return false;
    }
    if (!this.admission.isRefused(nodeId)) return true;
    this.opts.log.debug({ nodeId, msgType: msg.msgType }, 'message of a refused node answered NOT_ALLOWED');
    this.send(nodeId, 'refused', { code: ErrorCode.NOT_ALLOWED, message: 'this node is not allowed: its key is not on the allowlist' });
    return false;
  }

  private dropKeys(removedKeys: string[]): void {
    for (const { nodeId, publicKey } of this.admission?.dropKeys(removedKeys) ?? []) {
      this.opts.log.warn({ nodeId, publicKey }, 'node key removed from the allowlist: node dropped');
      this.refuse(nodeId, 'its key was removed from the allowlist');
    }
  }

  private refuse(nodeId: string, why: string): void {
    this.send(nodeId, 'refused', { code: ErrorCode.NOT_ALLOWED, message: `this node is not allowed: ${why}` });
    this.opts.onRefused(nodeId, why);
  }
}
