import { Dealer } from 'zeromq';
import { ErrorCode } from '../../../shared/errors.js';
import type { Logger } from '../../../shared/logger.js';
import { curveClientOptions, watchHandshakes, type ClientCurve } from '../../../shared/security/curve-client.js';
import { nodeKeyClaim } from '../../../shared/security/node-key-proof.js';
import { decodeEvent, encodeEvent } from '../../../shared/protocol/envelope.js';
import {
  HEARTBEAT_INTERVAL_MS,
  HEARTBEAT_LIVENESS,
  apiToWorkerSchemas,
  type ApiToWorker,
  type WorkerToApi,
  type WorkerToApiContent,
} from '../../../shared/protocol/worker-messages.js';
import { Outbox } from '../../../shared/transport/outbox.js';
import { unbatchOrLog } from '../../../shared/transport/unbatch-or-log.js';

export interface ApiLinkOptions {
  nodeId: string;
  apiAddr: string;
  log: Logger;
  hello: () => Promise<WorkerToApiContent<'hello'>>;
  heartbeat: () => WorkerToApiContent<'heartbeat'>;
  onMessage: (msg: Extract<ApiToWorker, { msgType: 'dispatch' | 'cancel' }>) => void;
  heartbeatMs?: number;
  /** The api at the other end says it schedules, under `epoch`. */
  onLeader?: (epoch: number) => void;
  /** Whether the api at the other end is the one that schedules: only its calls are taken, only it hears reports. */
  isCurrent?: () => boolean;
  /** Final reports not yet acked, shared by the links to every api (any of them may be the one to store and ack them). */
  finals?: Map<string, { report: FinalReport; sentAt: number }>;
  /** CurveZMQ: this node's keys and the api's public key; null: plain ZeroMQ (FERRY_CURVE=off). */
  curve: ClientCurve | null;
}

/** Finished or failed reports are kept until the api acks them. */
export type FinalReport = Extract<WorkerToApi, { msgType: 'finished' | 'failed' }>;

const RESEND_AFTER_MS = 5_000;
const MAX_BACKOFF_MS = 16_000;

/**
 * The worker's link to the api (Paranoid Pirate): a DEALER whose routing id is the node id,
 * heartbeats both ways, and a fresh socket with back-off when the api has been silent for
 * HEARTBEAT_LIVENESS intervals. A final report (finished/failed) is resent until acked, so an
 * api restart loses no result. With CurveZMQ the hello names this node's key with a proof that
 * it holds the secret, and a refusal from the api (the key is not allowed) is treated as silence:
 * the link tries again with back-off, so a key allowed later gets in without a restart.
 */
export class ApiLink {
  private sock: Dealer | undefined;
  private outbox: Outbox | undefined;
  private lastHeard = 0;
  private connected = false;
  private backoffMs = 1_000;
  private nextAttemptAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly unacked: Map<string, { report: FinalReport; sentAt: number }>;
  private closed = false;
  private refusedBefore = false;
  /** What the hello adds with CurveZMQ: the key the api checks against its allowlist, and the proof. */
  private readonly keyClaim: { publicKey?: string; keyProof?: string };

  constructor(private readonly opts: ApiLinkOptions) {
    this.keyClaim = nodeKeyClaim(opts.curve, opts.nodeId);
    this.unacked = opts.finals ?? new Map();
  }

  private get current(): boolean {
    return this.opts.isCurrent?.() ?? true;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  start(): void {
    this.open();
    const interval = this.opts.heartbeatMs ?? HEARTBEAT_INTERVAL_MS;
    this.timer = setInterval(() => this.tick(interval), interval);
  }

  send(msg: WorkerToApi): void {
    if (msg.msgType === 'finished' || msg.msgType === 'failed') {
      this.unacked.set(`${msg.content.callId}/${msg.content.attempt}`, { report: msg, sentAt: Date.now() });
    }
    this.write(msg);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.sock?.close();
  }

  private open(): void {
    this.sock?.close();
    const sock = new Dealer({ routingId: this.opts.nodeId, linger: 0, sendHighWaterMark: 100_000, ...curveClientOptions(this.opts.curve) });
    // A refused handshake leaves the socket unconnected: the api sounds silent, and the link tries again paced.
    watchHandshakes(sock, this.opts.curve, this.opts.apiAddr, this.opts.log, { refused: () => undefined });
    sock.connect(this.opts.apiAddr);
    this.sock = sock;
    this.outbox = new Outbox((frames) => sock.send(frames));
    this.lastHeard = Date.now();
    void this.receiveLoop(sock).catch((err: unknown) => {
      if (!this.closed && this.sock === sock) this.opts.log.error({ err }, 'api link loop failed');
    });
    void this.sayHello();
  }

  /** Says hello again: what this node runs, and every end not yet acked. */
  async sayHello(): Promise<void> {
    try {
      this.write({ msgType: 'hello', content: { ...(await this.opts.hello()), ...this.keyClaim } });
      for (const entry of this.unacked.values()) {
        entry.sentAt = Date.now();
        this.write(entry.report);
      }
    } catch (err) {
      this.opts.log.error({ err }, 'hello failed');
    }
  }

  private tick(interval: number): void {
    const now = Date.now();
    const silentMs = now - this.lastHeard;
    if (silentMs > interval * HEARTBEAT_LIVENESS) {
      if (this.connected) {
        this.connected = false;
        this.opts.log.warn({ silentMs }, 'api silent, reconnecting');
        this.nextAttemptAt = now;
      }
      if (now >= this.nextAttemptAt) {
        this.open();
        this.nextAttemptAt = now + this.backoffMs;
        this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
      }
      return;
    }
    this.write({ msgType: 'heartbeat', content: this.opts.heartbeat() });
    if (!this.current) return;
    for (const entry of this.unacked.values()) {
      if (now - entry.sentAt > RESEND_AFTER_MS) {
        entry.sentAt = now;
        this.write(entry.report);
      }
    }
  }

  private write(msg: WorkerToApi): void {
    this.outbox?.send(encodeEvent(msg.msgType, msg.content)).catch((err: unknown) => {
      if (!this.closed) this.opts.log.warn({ err, msgType: msg.msgType }, 'send to api failed');
    });
  }

  private async receiveLoop(sock: Dealer): Promise<void> {
    for await (const batch of sock) {
      if (this.sock !== sock) return;
      for (const frames of unbatchOrLog(batch, this.opts.log)) this.onMessage(frames);
    }
  }

  private heard(): void {
    this.lastHeard = Date.now();
    if (this.connected) return;
    this.connected = true;
    this.refusedBefore = false;
    this.backoffMs = 1_000;
    this.opts.log.info({ apiAddr: this.opts.apiAddr }, 'connected to api');
  }

  /** The api does not serve this node: as good as silent, so the link reopens with back-off. */
  private notAllowed(content: { code: string; message: string }): void {
    if (!this.refusedBefore) {
      this.opts.log.error(
        { ...content, publicKey: this.opts.curve?.keys.publicKey ?? null },
        'the api refuses this node: allow its key on the api host with `ferry node allow <key>`; trying again',
      );
    }
    this.refusedBefore = true;
    this.lastHeard = 0;
  }

  private onMessage(frames: Buffer[]): void {
    try {
      const msg = decodeEvent(frames, apiToWorkerSchemas);
      const notAllowed = msg.msgType === 'refused' && msg.content.code === ErrorCode.NOT_ALLOWED;
      if (!notAllowed) this.heard();
      switch (msg.msgType) {
        case 'heartbeat':
          break;
        case 'reconnect':
          void this.sayHello();
          break;
        case 'ack':
          this.unacked.delete(`${msg.content.callId}/${msg.content.attempt}`);
          break;
        case 'leader':
          this.opts.onLeader?.(msg.content.epoch);
          break;
        case 'dispatch':
        case 'cancel':
          // From an api that no longer schedules (another took over while it was cut off): fenced off.
          if (this.current) this.opts.onMessage(msg);
          else this.opts.log.warn({ apiAddr: this.opts.apiAddr, msgType: msg.msgType, callId: msg.content.callId }, 'message from an api that does not schedule dropped');
          break;
        case 'refused':
          if (notAllowed) this.notAllowed(msg.content);
          else this.opts.log.warn({ code: msg.content.code, reason: msg.content.message }, 'the api refused a message from this node');
          break;
      }
    } catch (err) {
      this.opts.log.warn({ err }, 'bad message from api dropped');
    }
  }
}
