import { ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Refusals } from '../refusals.js';
import type { AllowedKeys } from './allowed-keys.js';
import type { CurveKeyPair } from './curve-keys.js';
import { registerZapDomain } from './zap-handler.js';

/** What a CURVE server socket needs: its key pair and the client keys it lets in. */
export interface ServerCurve {
  keys: CurveKeyPair;
  allowed: AllowedKeys;
}

/** A key that keeps knocking is logged again at most this often. */
const REFUSAL_LOG_EVERY_MS = 60_000;
/** Keys whose last refusal is remembered for that pacing; past it the memory starts again. */
const REFUSALS_REMEMBERED = 1_000;

let domains = 0;

/**
 * The CURVE side of one server socket: its socket options and its ZAP gate, which lets in the
 * keys its data folder allows and refuses every other. A refusal is counted and logged (warn,
 * with the key): the first of a run of refusals of one key at once, then at most once a minute.
 */
export class CurveServerGuard {
  /** Handshakes refused since start. */
  refused = 0;
  private readonly domain: string;
  private readonly lastLogged = new Map<string, { at: number; since: number }>();
  /** Keys this socket let in since start: at most the allowed ones. */
  private readonly admitted = new Set<string>();
  private unregister: (() => void) | undefined;
  private stopWatching: (() => void) | undefined;

  constructor(
    private readonly curve: ServerCurve,
    role: string,
    private readonly log: Logger,
    private readonly options: {
      /** The daemon's count of refused inputs: a refused handshake counts as NOT_ALLOWED there. */
      refusals?: Refusals;
      /**
       * Called when the allowlist loses a key this socket let in: its connection is still open
       * (ZeroMQ keeps it), and only the socket's owner can end it.
       */
      onAdmittedKeyRemoved?: () => void;
    } = {},
  ) {
    this.domain = `ferry-${role}-${++domains}`;
  }

  /**
   * Options for the server socket, set before it binds. `zapEnforceDomain`: without it libzmq
   * lets every CURVE client in when no ZAP handler answers; with it, such a client is refused.
   */
  socketOptions(): { curveServer: true; curveSecretKey: string; zapDomain: string; zapEnforceDomain: true } {
    return { curveServer: true, curveSecretKey: this.curve.keys.secretKey, zapDomain: this.domain, zapEnforceDomain: true };
  }

  /** Starts answering ZAP requests for the socket; before it binds. */
  async start(): Promise<void> {
    this.unregister = await registerZapDomain(this.domain, (key, address) => this.admit(key, address), this.log);
    this.stopWatching = this.curve.allowed.onRemoved((removed) => {
      const gone = removed.filter((key) => this.admitted.delete(key));
      if (gone.length > 0) this.options.onAdmittedKeyRemoved?.();
    });
  }

  close(): void {
    this.unregister?.();
    this.unregister = undefined;
    this.stopWatching?.();
  }

  private async admit(publicKey: string, address: string): Promise<boolean> {
    if (await this.curve.allowed.admits(publicKey)) {
      this.admitted.add(publicKey);
      this.lastLogged.delete(publicKey);
      return true;
    }
    this.refused += 1;
    this.options.refusals?.count(ErrorCode.NOT_ALLOWED, { publicKey, address });
    const now = Date.now();
    const last = this.lastLogged.get(publicKey);
    if (last && now - last.at < REFUSAL_LOG_EVERY_MS) {
      last.since += 1;
      return false;
    }
    if (this.lastLogged.size >= REFUSALS_REMEMBERED) this.lastLogged.clear();
    this.lastLogged.set(publicKey, { at: now, since: 0 });
    this.log.warn(
      { publicKey, address, refused: this.refused, refusedUnlogged: last?.since ?? 0 },
      'handshake refused: client key not allowed',
    );
    return false;
  }
}
