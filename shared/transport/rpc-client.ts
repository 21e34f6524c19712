import { nanoid } from 'nanoid';
import { Dealer } from 'zeromq';
import { ErrorCode, FerryError, TimeoutError, fromWire } from '../errors.js';
import { decodeFrames, encodeFrames, parseReply } from '../protocol/envelope.js';
import type { Logger } from '../logger.js';
import { curveClientOptions, watchHandshakes, type ClientCurve } from '../security/curve-client.js';
import { unbatchOrLog } from './unbatch-or-log.js';
import { Outbox } from './outbox.js';

export interface RpcClientOptions {
  /** Server endpoint, e.g. `tcp://127.0.0.1:5555`. */
  endpoint: string;
  /** Per-attempt timeout in milliseconds. */
  timeoutMs: number;
  /** Resends after the first attempt times out (same request id, so the server answers once). */
  retries: number;
  log: Logger;
  /** CurveZMQ: this client's key pair and the server's public key. Absent: plain ZeroMQ (FERRY_CURVE=off). */
  curve?: ClientCurve | null;
}

/** After the server refused this client's key, the next try comes this long later, doubling up to the cap. */
const REFUSED_RETRY_MS = 1_000;
const REFUSED_RETRY_MAX_MS = 30_000;

export interface CallOptions {
  bulk?: Buffer[];
  timeoutMs?: number;
  retries?: number;
}

export interface ReplyWithBulk<T> {
  content: T;
  bulk: Buffer[];
}

interface Pending {
  resolve: (reply: ReplyWithBulk<unknown>) => void;
  reject: (err: FerryError) => void;
  timer: NodeJS.Timeout;
}

/**
 * Request/reply client on a DEALER socket: many requests in flight over one socket, each settled
 * by id from a pending map. A request that gets no reply in time is resent (bounded), then fails
 * with a retryable TIMEOUT. Closing rejects everything still pending with CLOSED.
 *
 * `Req` maps each msgType to its request content and `Res` to its reply content.
 */
export class RpcClient<Req extends { [K in keyof Res]: unknown }, Res extends object> {
  private readonly sock: Dealer;
  private readonly outbox: Outbox;
  private readonly pending = new Map<string, Pending>();
  private readonly loop: Promise<void>;
  private closed = false;
  private refusedRetryMs = REFUSED_RETRY_MS;
  private refusedRetry: NodeJS.Timeout | undefined;

  constructor(private readonly opts: RpcClientOptions) {
    this.sock = new Dealer({ linger: 0, sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000, ...curveClientOptions(opts.curve) });
    watchHandshakes(this.sock, opts.curve, opts.endpoint, opts.log, {
      refused: () => this.retryRefused(),
      accepted: () => (this.refusedRetryMs = REFUSED_RETRY_MS),
    });
    this.sock.connect(opts.endpoint);
    this.outbox = new Outbox((frames) => this.sock.send(frames));
    this.loop = this.receiveLoop().catch((err: unknown) => {
      if (!this.closed) opts.log.error({ err }, 'reply loop failed');
    });
  }

  /** Sends `msgType` and resolves with the reply content; rejects with the server's typed error. */
  async call<K extends keyof Res & string>(msgType: K, content: Req[K], options: CallOptions = {}): Promise<Res[K]> {
    return (await this.callWithBulk(msgType, content, options)).content;
  }

  /** Like {@link call}, also handing back the reply's bulk frames. */
  callWithBulk<K extends keyof Res & string>(
    msgType: K,
    content: Req[K],
    options: CallOptions = {},
  ): Promise<ReplyWithBulk<Res[K]>> {
    if (this.closed) return Promise.reject(new FerryError(ErrorCode.CLOSED, 'client is closed'));
    const id = nanoid();
    const frames = encodeFrames({ id, msgType, content }, options.bulk);
    const timeoutMs = options.timeoutMs ?? this.opts.timeoutMs;
    let attemptsLeft = options.retries ?? this.opts.retries;

    return new Promise<ReplyWithBulk<Res[K]>>((resolve, reject) => {
      const send = (): void => {
        this.outbox.send(frames, () => this.pending.has(id)).catch((err: unknown) => {
          this.settle(id)?.reject(new FerryError(ErrorCode.UNAVAILABLE, `send failed: ${String(err)}`));
        });
      };
      const onTimeout = (): void => {
        const entry = this.pending.get(id);
        if (!entry) return;
        if (attemptsLeft > 0) {
          attemptsLeft -= 1;
          this.opts.log.warn({ msgType, rpcId: id, endpoint: this.opts.endpoint }, 'no reply in time, resending');
          entry.timer = setTimeout(onTimeout, timeoutMs);
          send();
          return;
        }
        this.pending.delete(id);
        reject(new TimeoutError(`${msgType} got no reply from ${this.opts.endpoint} in time`));
      };
      this.pending.set(id, {
        resolve: resolve as (reply: ReplyWithBulk<unknown>) => void,
        reject,
        timer: setTimeout(onTimeout, timeoutMs),
      });
      send();
    });
  }

  /** Number of requests awaiting a reply. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Rejects every pending request with CLOSED and closes the socket. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.refusedRetry);
    for (const id of [...this.pending.keys()]) {
      this.settle(id)?.reject(new FerryError(ErrorCode.CLOSED, 'client closed before the reply arrived'));
    }
    this.sock.close();
    await this.loop;
  }

  /**
   * libzmq gives up on a server that refused this client's key; a key allowed there later (the
   * allowlist is read again without a restart) must still get through, so connect again, paced.
   */
  private retryRefused(): void {
    if (this.closed || this.refusedRetry) return;
    this.refusedRetry = setTimeout(() => {
      this.refusedRetry = undefined;
      if (this.closed) return;
      this.sock.disconnect(this.opts.endpoint);
      this.sock.connect(this.opts.endpoint);
    }, this.refusedRetryMs);
    this.refusedRetryMs = Math.min(this.refusedRetryMs * 2, REFUSED_RETRY_MAX_MS);
  }

  private settle(id: string): Pending | undefined {
    const entry = this.pending.get(id);
    if (!entry) return undefined;
    clearTimeout(entry.timer);
    this.pending.delete(id);
    return entry;
  }

  private async receiveLoop(): Promise<void> {
    for await (const frames of this.sock) {
      for (const message of unbatchOrLog(frames, this.opts.log)) {
        try {
          this.onReply(message);
        } catch (err) {
          this.opts.log.warn({ err }, 'malformed reply dropped');
        }
      }
    }
  }

  private onReply(frames: Buffer[]): void {
    const { body, bulk } = decodeFrames(frames);
    const reply = parseReply(body);
    const entry = this.settle(reply.id);
    if (!entry) {
      // A late answer to a request that already timed out, or a second answer to a resend.
      this.opts.log.debug({ rpcId: reply.id }, 'reply for no pending request dropped');
      return;
    }
    if (reply.ok) entry.resolve({ content: reply.content, bulk });
    else entry.reject(fromWire(reply.error));
  }
}
