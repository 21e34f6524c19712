import { Router } from 'zeromq';
import type { z } from 'zod';
import { ErrorCode, toFerryError } from '../errors.js';
import { unbatch } from '../protocol/batch.js';
import { decodeFrames, encodeFrames, parseRequest, validateContent, type ReplyEnvelope } from '../protocol/envelope.js';
import type { Logger } from '../logger.js';
import { Refusals } from '../refusals.js';
import { CurveServerGuard, type ServerCurve } from '../security/curve-server.js';
import { MAX_FRAME_BYTES } from './frame-limit.js';
import { Outbox } from './outbox.js';

/** A reply that carries bulk frames after its body (a bundle, for instance). */
export class BulkReply<T> {
  constructor(
    readonly content: T,
    readonly bulk: Buffer[],
  ) {}
}

export interface RequestContext {
  /** Frames after the body: bulk bytes sent with the request. */
  bulk: Buffer[];
  /** The envelope's id (one request and its resends; logged as `rpcId`, apart from a call's `requestId`). */
  requestId: string;
  log: Logger;
}

type Schemas = Record<string, z.ZodType>;

/** One handler per operation; the mapped type makes a missing operation a compile error. */
export type Handlers<S extends Schemas, R extends { [K in keyof S]: unknown }> = {
  [K in keyof S]: (content: z.output<S[K]>, ctx: RequestContext) => Promise<R[K] | BulkReply<R[K]>>;
};

export interface RpcServerOptions<S extends Schemas, R extends { [K in keyof S]: unknown }> {
  /** ZeroMQ endpoint to bind; `tcp://127.0.0.1:*` picks a free port (see {@link RpcServer.endpoint}). */
  bind: string;
  schemas: S;
  handlers: Handlers<S, R>;
  log: Logger;
  /** Largest single frame accepted, in bytes; a bigger frame drops the connection. Default {@link MAX_FRAME_BYTES}. */
  maxFrameBytes?: number;
  /** Where refused requests are counted; by default a counter of this server's own. */
  refusals?: Refusals;
  /** How many answered request ids are remembered so a resent request is answered, not redone. */
  dedupeEntries?: number;
  /**
   * CurveZMQ: the server's key pair and the client keys it lets in (a refused client gets no
   * answer at all). Absent: plain ZeroMQ, as with FERRY_CURVE=off.
   */
  curve?: ServerCurve | null;
  /** Names the server in its ZAP domain (`db`, `registry`). */
  role?: string;
}

const CLOSE_GRACE_MS = 5_000;
/** Binding the endpoint again right after closing the socket may find the port still held a moment. */
const REBIND_TRIES = 100;
const REBIND_PAUSE_MS = 20;

interface Remembered {
  reply: Promise<Buffer[]>;
  cacheable: boolean;
}

/**
 * Request/reply server on a ROUTER socket. Requests are handled concurrently; each gets exactly
 * one reply (a typed error when anything about it is wrong) and no request can stop the loop.
 * A resent request (same id) is answered from memory, so a client retry never doubles an effect.
 */
export class RpcServer<S extends Schemas, R extends { [K in keyof S]: unknown }> {
  private sock: Router;
  private readonly outbox: Outbox;
  private readonly guard: CurveServerGuard | undefined;
  private reopening: Promise<void> = Promise.resolve();
  private readonly remembered = new Map<string, Remembered>();
  private readonly inFlight = new Set<Promise<void>>();
  private state: 'new' | 'running' | 'stopped' = 'new';
  private loop: Promise<void> | undefined;
  private boundEndpoint = '';
  /** Requests this server answered with an error that is the sender's fault, by code. */
  readonly refusals: Refusals;

  constructor(private readonly opts: RpcServerOptions<S, R>) {
    this.refusals = opts.refusals ?? new Refusals(opts.log);
    const reopen = (): void => void (this.reopening = this.reopening.then(() => this.reopen()));
    this.guard = opts.curve ? new CurveServerGuard(opts.curve, opts.role ?? 'rpc', opts.log, { refusals: this.refusals, onAdmittedKeyRemoved: reopen }) : undefined;
    this.sock = this.newSocket();
    this.outbox = new Outbox((frames) => this.sock.send(frames), { routed: true });
  }

  private newSocket(): Router {
    return new Router({
      ...this.guard?.socketOptions(),
      linger: 2_000,
      maxMessageSize: this.opts.maxFrameBytes ?? MAX_FRAME_BYTES,
      // A ROUTER drops replies to peers that have gone; the peer's own retry covers that.
      sendHighWaterMark: 100_000,
      receiveHighWaterMark: 100_000,
    });
  }

  /** The endpoint actually bound (resolves `*` ports). */
  get endpoint(): string {
    return this.boundEndpoint;
  }

  async start(): Promise<string> {
    if (this.state !== 'new') throw new Error('server already started');
    // The gate answers before the first client can knock.
    await this.guard?.start();
    try {
      await this.sock.bind(this.opts.bind);
    } catch (err) {
      this.guard?.close();
      throw err;
    }
    this.boundEndpoint = this.sock.lastEndpoint ?? this.opts.bind;
    this.state = 'running';
    this.listen(this.sock);
    return this.boundEndpoint;
  }

  private listen(sock: Router): void {
    this.loop = this.receiveLoop(sock).catch((err: unknown) => {
      if (this.state === 'running' && this.sock === sock) this.opts.log.error({ err }, 'receive loop failed');
    });
  }

  /**
   * Ends every connection by binding a new socket on the same endpoint: ZeroMQ keeps a connection
   * made with a key after that key leaves the allowlist, and a ROUTER cannot close one peer's.
   * Clients reconnect at once and shake hands again, and the removed key is refused; a request in
   * flight meanwhile is answered on its resend (from memory when it was done).
   */
  private async reopen(): Promise<void> {
    if (this.state !== 'running') return;
    const old = this.sock;
    this.sock = this.newSocket();
    old.close();
    for (let tries = 1; ; tries++) {
      try {
        await this.sock.bind(this.boundEndpoint);
        break;
      } catch (err) {
        if (this.state !== 'running') return; // closed meanwhile
        if (tries >= REBIND_TRIES) {
          this.opts.log.error({ err, endpoint: this.boundEndpoint }, 'could not bind again after closing connections: restart the daemon');
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, REBIND_PAUSE_MS));
      }
    }
    this.listen(this.sock);
    this.opts.log.warn({ endpoint: this.boundEndpoint }, 'a connected client key left the allowlist: every connection closed, clients shake hands again');
  }

  /** Stops taking requests, lets the ones in progress answer, then closes. Idempotent. */
  async close(): Promise<void> {
    if (this.state === 'stopped') return;
    const wasRunning = this.state === 'running';
    this.state = 'stopped';
    if (wasRunning) {
      // Answers in progress get a bounded grace: a stop must not hang on a stuck request.
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)));
      await Promise.race([Promise.allSettled([...this.inFlight]), grace]);
      clearTimeout(timer);
    }
    this.sock.close();
    this.guard?.close();
    await this.loop;
  }

  private async receiveLoop(sock: Router): Promise<void> {
    for await (const [identity, ...frames] of sock) {
      if (identity === undefined) continue;
      let messages: Buffer[][];
      try {
        messages = unbatch(frames);
      } catch (err) {
        // No request id can be read out of a malformed batch: its one answer carries none.
        messages = [];
        this.track(this.outbox.send([identity, ...this.errorFrames('', err)]));
      }
      for (const message of messages) this.track(this.handle(identity, message));
    }
  }

  private track(work: Promise<void>): void {
    const done = work.catch((err: unknown) => {
      this.opts.log.error({ err }, 'request handling failed');
    });
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
  }

  private async handle(identity: Buffer, frames: Buffer[]): Promise<void> {
    let requestId = '';
    let reply: Promise<Buffer[]>;
    try {
      const { body, bulk } = decodeFrames(frames);
      // A readable id goes on the refusal of a bad envelope, so its sender can match the answer.
      if (typeof body['id'] === 'string' && body['id'].length <= 128) requestId = body['id'];
      const request = parseRequest(body);
      const known = this.remembered.get(requestId);
      if (known) {
        this.opts.log.debug({ rpcId: requestId }, 'resent request answered from memory');
        reply = known.reply;
      } else {
        const entry: Remembered = { reply: Promise.resolve([]), cacheable: true };
        entry.reply = this.run(request.id, request.msgType, request.content, bulk, entry);
        this.remember(requestId, entry);
        reply = entry.reply;
      }
    } catch (err) {
      reply = Promise.resolve(this.errorFrames(requestId, err));
    }
    const frames_ = await reply;
    await this.outbox.send([identity, ...frames_]);
  }

  private async run(id: string, msgType: string, content: unknown, bulk: Buffer[], entry: Remembered): Promise<Buffer[]> {
    try {
      const data = validateContent(this.opts.schemas, msgType, content, 'request');
      const key = msgType as keyof S & string;
      const handler = this.opts.handlers[key];
      const log = this.opts.log;
      const result = await handler(data as z.output<S[typeof key]>, { bulk, requestId: id, log });
      if (result instanceof BulkReply) {
        entry.cacheable = false; // bulk replies are re-read on a resend rather than held in memory
        return encodeFrames({ id, ok: true, content: result.content }, result.bulk);
      }
      return encodeFrames({ id, ok: true, content: result });
    } catch (err) {
      return this.errorFrames(id, err);
    }
  }

  private errorFrames(id: string, err: unknown): Buffer[] {
    const ferr = toFerryError(err);
    if (ferr.code === ErrorCode.INTERNAL) this.opts.log.error({ err, rpcId: id }, 'request failed');
    else this.opts.log.debug({ code: ferr.code, rpcId: id }, 'request refused');
    this.refusals.count(ferr.code, { rpcId: id, message: ferr.message });
    const envelope: ReplyEnvelope = { id, ok: false, error: ferr.toWire() };
    return encodeFrames(envelope);
  }

  private remember(id: string, entry: Remembered): void {
    this.remembered.set(id, entry);
    void entry.reply.then(() => {
      if (!entry.cacheable) this.remembered.delete(id);
    });
    const max = this.opts.dedupeEntries ?? 50_000;
    while (this.remembered.size > max) {
      const oldest = this.remembered.keys().next().value;
      if (oldest === undefined) break;
      this.remembered.delete(oldest);
    }
  }
}
