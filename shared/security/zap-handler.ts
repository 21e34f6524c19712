import { Router } from 'zeromq';
import type { Logger } from '../logger.js';
import { z85Encode } from './z85.js';

/** Decides whether the client with this public key (Z85), connecting from `address`, may in. */
export type ZapGate = (publicKey: string, address: string) => Promise<boolean>;

/** Where libzmq asks (ZeroMQ RFC 27): an inproc endpoint of the socket's own context. */
const ZAP_ENDPOINT = 'inproc://zeromq.zap.01';

/**
 * The process's ZAP handler. libzmq asks it whether a client that completed the CURVE handshake
 * may connect; each server socket names its gate by its ZAP domain. One per process, because one
 * socket alone can bind the endpoint; it closes when the last domain goes.
 */
class ZapHandler {
  private sock: Router | undefined;
  private bound: Promise<void> | undefined;
  private readonly gates = new Map<string, ZapGate>();
  /** Replies go one at a time: zeromq.js allows one send in progress per socket. */
  private replies: Promise<void> = Promise.resolve();
  /** Handshakes refused since start, on every server socket of the process. */
  refused = 0;

  async register(domain: string, gate: ZapGate, log: Logger): Promise<() => void> {
    if (this.gates.has(domain)) throw new Error(`ZAP domain ${domain} is already served`);
    this.gates.set(domain, gate);
    if (!this.sock) {
      const sock = new Router({ linger: 0 });
      this.sock = sock;
      const bound = sock.bind(ZAP_ENDPOINT);
      this.bound = bound;
      void this.serve(sock, bound, log).catch((err: unknown) => {
        if (this.sock === sock) log.error({ err }, 'ZAP handler failed: CURVE clients are refused until restart');
      });
    }
    try {
      await this.bound;
    } catch (err) {
      this.unregister(domain);
      throw err;
    }
    return () => this.unregister(domain);
  }

  private unregister(domain: string): void {
    this.gates.delete(domain);
    if (this.gates.size > 0 || !this.sock) return;
    const sock = this.sock;
    this.sock = undefined;
    sock.close();
  }

  private async serve(sock: Router, bound: Promise<void>, log: Logger): Promise<void> {
    await bound;
    for await (const request of sock) void this.answer(sock, request, log);
  }

  private async answer(sock: Router, request: Buffer[], log: Logger): Promise<void> {
    const [peer, delimiter, version, requestId, domain, address, _identity, mechanism, credential] = request;
    if (!peer || !delimiter || !version || !requestId) return; // not a ZAP request: nothing to answer
    let status: [string, string] = ['400', 'not allowed'];
    let userId = '';
    const gate = this.gates.get(String(domain ?? ''));
    if (gate && String(mechanism ?? '') === 'CURVE' && credential?.length === 32) {
      const publicKey = z85Encode(credential);
      try {
        if (await gate(publicKey, String(address ?? ''))) {
          status = ['200', 'OK'];
          userId = publicKey;
        }
      } catch (err) {
        log.error({ err }, 'ZAP gate failed');
        status = ['500', 'internal error'];
      }
    }
    if (status[0] !== '200') this.refused += 1;
    const reply = [peer, delimiter, '1.0', requestId, ...status, userId, ''];
    this.replies = this.replies
      .then(() => sock.send(reply))
      .catch((err: unknown) => {
        if (this.sock === sock) log.warn({ err }, 'ZAP reply not sent');
      });
    await this.replies;
  }
}

const handler = new ZapHandler();

/** CurveZMQ handshakes this process refused since it started. */
export const zapRefusals = (): number => handler.refused;

/** Serves ZAP `domain` with `gate` until the returned function is called. */
export function registerZapDomain(domain: string, gate: ZapGate, log: Logger): Promise<() => void> {
  return handler.register(domain, gate, log);
}
