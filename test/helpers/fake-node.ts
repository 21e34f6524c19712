import { Dealer } from 'zeromq';
import { unbatch } from '../../shared/protocol/batch.js';
import { decodeEvent, encodeEvent } from '../../shared/protocol/envelope.js';
import { apiToWorkerSchemas, type ApiToWorker, type Dispatch } from '../../shared/protocol/worker-messages.js';
import { curveClientOptions } from '../../shared/security/curve-client.js';
import { nodeKeyClaim } from '../../shared/security/node-key-proof.js';
import { Outbox } from '../../shared/transport/outbox.js';
import { curveTo } from './curve.js';

/**
 * A worker node played by the test over a real DEALER speaking the real protocol, for the cases
 * a real worker will not produce on cue: a node that falls silent mid-call and then reports late.
 * It joins with the test process's allowed key, as a real worker joins with its own.
 */
export class FakeNode {
  readonly dispatches: Dispatch[] = [];
  /** Cancels the api sent this node, in order. */
  readonly cancels: { callId: string; attempt: number }[] = [];
  private readonly sock: Dealer;
  private readonly outbox: Outbox;
  private timer: NodeJS.Timeout | undefined;
  private waiters: ((d: Dispatch) => void)[] = [];
  /** Set: every dispatch ends DONE this many ms after it came, as a node that keeps up with any load would. */
  private autoFinishMs: number | undefined;
  /** One per join, as a worker process has one per start. */
  private incarnation = 0;
  private readonly keyClaim: { publicKey?: string; keyProof?: string };

  constructor(readonly nodeId: string, endpoint: string) {
    const curve = curveTo(endpoint);
    this.keyClaim = nodeKeyClaim(curve, nodeId);
    this.sock = new Dealer({ routingId: nodeId, linger: 0, ...curveClientOptions(curve) });
    this.sock.connect(endpoint);
    this.outbox = new Outbox((frames) => this.sock.send(frames));
    void this.loop();
  }

  /** Says hello (a new incarnation each time, as a restarted process), naming calls it still runs, then heartbeats. */
  join(maxContainers = 1, running: { callId: string; attempt: number }[] = []): void {
    this.incarnation += 1;
    this.send('hello', { nodeId: this.nodeId, incarnation: `fake-${this.incarnation}`, driver: 'process', capacity: { maxContainers, memoryMb: 1024 }, images: [], warm: [], running, ...this.keyClaim });
    clearInterval(this.timer);
    this.timer = setInterval(() => this.send('heartbeat', { running: 0, warm: [] }), 1_000);
  }

  /**
   * From now on ends every call it is sent DONE after `delayMs` (those it holds too), instead of
   * holding them for the test; null: holds them again, as a node whose calls never end.
   */
  autoFinish(delayMs: number | null): void {
    this.autoFinishMs = delayMs ?? undefined;
    if (delayMs === null) return;
    for (const d of this.dispatches.splice(0)) setTimeout(() => this.finish(d, ''), delayMs);
  }

  /** Stops heartbeating: the api will declare this node lost. */
  fallSilent(): void {
    clearInterval(this.timer);
  }

  nextDispatch(timeoutMs = 30_000): Promise<Dispatch> {
    const seen = this.dispatches.shift();
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${this.nodeId}: no dispatch within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push((d) => {
        clearTimeout(t);
        resolve(d);
      });
    });
  }

  finish(d: Pick<Dispatch, 'callId' | 'attempt'>, result: string): void {
    this.end(d, 'DONE', result);
  }

  started(d: Pick<Dispatch, 'callId' | 'attempt'>): void {
    this.send('started', { callId: d.callId, attempt: d.attempt, startedAt: Date.now() });
  }

  /** A final report: DONE with `result`, or ERROR / TIMEOUT. */
  end(d: Pick<Dispatch, 'callId' | 'attempt'>, status: 'DONE' | 'ERROR' | 'TIMEOUT', result = ''): void {
    const error = status === 'DONE' ? null : { code: status === 'TIMEOUT' ? 'TIMEOUT' : 'FUNCTION_ERROR', message: `it ended ${status}` };
    this.send('finished', {
      callId: d.callId,
      attempt: d.attempt,
      startedAt: Date.now(),
      outcome: { status, result, error, logs: { stdout: result, stderr: '', truncated: false }, timings: { queuedMs: 0, initMs: 0, runMs: 1 } },
    });
  }

  /** The node could not run the call. */
  fail(d: Pick<Dispatch, 'callId' | 'attempt'>, retryable: boolean): void {
    this.send('failed', { callId: d.callId, attempt: d.attempt, code: 'SANDBOX_FAILED', message: 'no sandbox', retryable });
  }

  close(): void {
    clearInterval(this.timer);
    this.sock.close();
  }

  private send(msgType: string, content: unknown): void {
    void this.outbox.send(encodeEvent(msgType, content)).catch(() => undefined);
  }

  private async loop(): Promise<void> {
    try {
      for await (const batch of this.sock) {
        for (const frames of unbatch(batch)) {
          const msg = decodeEvent(frames, apiToWorkerSchemas) as ApiToWorker;
          if (msg.msgType === 'cancel') this.cancels.push(msg.content);
          if (msg.msgType !== 'dispatch') continue;
          if (this.autoFinishMs !== undefined) {
            const d = msg.content;
            setTimeout(() => this.finish(d, ''), this.autoFinishMs);
            continue;
          }
          const waiter = this.waiters.shift();
          if (waiter) waiter(msg.content);
          else this.dispatches.push(msg.content);
        }
      }
    } catch {
      // closed
    }
  }
}
