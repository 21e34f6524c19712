import { Router } from 'zeromq';
import { BadRequestError, toFerryError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { unbatch } from '../../shared/protocol/batch.js';
import { decodeEvent, encodeEvent } from '../../shared/protocol/envelope.js';
import { workerToApiSchemas, type ApiToWorker, type WorkerToApi } from '../../shared/protocol/worker-messages.js';
import type { Refusals } from '../../shared/refusals.js';
import { MAX_FRAME_BYTES } from '../../shared/transport/frame-limit.js';
import { Outbox } from '../../shared/transport/outbox.js';

/**
 * The api's ROUTER for workers: each worker's DEALER routing id is its node id, so a dispatch is
 * sent to exactly one node. A message that does not decode, or a hello that names another node
 * than its routing id, is dropped, counted, and answered with a `refused` naming the code.
 */
export class WorkerChannel {
  private readonly sock = new Router({ linger: 0, maxMessageSize: MAX_FRAME_BYTES, sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000 });
  private readonly outbox = new Outbox((frames) => this.sock.send(frames), { routed: true });
  private closed = false;
  endpoint = '';

  constructor(
    private readonly log: Logger,
    private readonly refusals: Refusals,
    private readonly onMessage: (nodeId: string, msg: WorkerToApi) => void,
  ) {}

  async bind(endpoint: string): Promise<string> {
    await this.sock.bind(endpoint);
    this.endpoint = this.sock.lastEndpoint ?? endpoint;
    void this.loop().catch((err: unknown) => {
      if (!this.closed) this.log.error({ err }, 'worker channel loop failed');
    });
    return this.endpoint;
  }

  send<M extends ApiToWorker>(nodeId: string, msgType: M['msgType'], content: M['content']): void {
    this.sendTo(Buffer.from(nodeId), msgType, content);
  }

  close(): void {
    this.closed = true;
    this.sock.close();
  }

  private sendTo<M extends ApiToWorker>(routingId: Buffer, msgType: M['msgType'], content: M['content']): void {
    this.outbox.send([routingId, ...encodeEvent(msgType, content)]).catch((err: unknown) => {
      if (!this.closed) this.log.warn({ err, nodeId: routingId.toString(), msgType }, 'send to worker failed');
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
    this.onMessage(nodeId, msg);
  }

  private refuse(id: Buffer, err: unknown): void {
    const { code, message } = toFerryError(err);
    const nodeId = id.toString('latin1').slice(0, 64);
    this.log.debug({ code, nodeId }, 'bad message from worker dropped');
    this.refusals.count(code, { nodeId, message });
    this.sendTo(id, 'refused', { code, message });
  }
}
