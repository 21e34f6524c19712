import { Router } from 'zeromq';
import type { Logger } from '../../shared/logger.js';
import { decodeEvent, encodeEvent } from '../../shared/protocol/envelope.js';
import { workerToApiSchemas, type ApiToWorker, type WorkerToApi } from '../../shared/protocol/worker-messages.js';
import { Outbox } from '../../shared/transport/outbox.js';
import { unbatchOrLog } from '../../shared/transport/unbatch-or-log.js';

/**
 * The api's ROUTER for workers: each worker's DEALER routing id is its node id, so a dispatch is
 * sent to exactly one node. Messages that do not decode are logged and dropped.
 */
export class WorkerChannel {
  private readonly sock = new Router({ linger: 0, sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000 });
  private readonly outbox = new Outbox((frames) => this.sock.send(frames), { routed: true });
  private closed = false;
  endpoint = '';

  constructor(
    private readonly log: Logger,
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
    this.outbox.send([Buffer.from(nodeId), ...encodeEvent(msgType, content)]).catch((err: unknown) => {
      if (!this.closed) this.log.warn({ err, nodeId, msgType }, 'send to worker failed');
    });
  }

  close(): void {
    this.closed = true;
    this.sock.close();
  }

  private async loop(): Promise<void> {
    for await (const [id, ...frames] of this.sock) {
      if (!id) continue;
      const nodeId = id.toString();
      for (const message of unbatchOrLog(frames, this.log)) {
        try {
          const msg = decodeEvent(message, workerToApiSchemas) as WorkerToApi;
          this.onMessage(nodeId, msg);
        } catch (err) {
          this.log.warn({ err, nodeId }, 'bad message from worker dropped');
        }
      }
    }
  }
}
