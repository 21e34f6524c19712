import { Router } from 'zeromq';
import { unbatch } from '../../shared/protocol/batch.js';
import { decodeEvent, encodeEvent } from '../../shared/protocol/envelope.js';
import { workerToApiSchemas, type Dispatch, type WorkerToApi } from '../../shared/protocol/worker-messages.js';
import { moduleLogger } from '../../shared/logger.js';
import { AllowedKeys } from '../../shared/security/allowed-keys.js';
import { loadOrCreateKeyPair } from '../../shared/security/curve-keys.js';
import { CurveServerGuard } from '../../shared/security/curve-server.js';
import { curveDirOf } from '../../shared/security/key-files.js';
import { Outbox } from '../../shared/transport/outbox.js';

export type Received = WorkerToApi & { nodeId: string; at: number };

/** A final report's fields in one object: a `finished` report's outcome beside its call ref, or a `failed` report as sent. */
export function finalOf(m: Received): Record<string, unknown> {
  return m.msgType === 'finished' ? { ...m.content, ...m.content.outcome } : (m.content as Record<string, unknown>);
}

/**
 * Plays the api's side of the worker channel until the API daemon exists: a real ROUTER that
 * answers heartbeats, acks final reports, and records everything workers send.
 * (Not a mock of ZeroMQ: a real socket speaking the real protocol.) With CurveZMQ it is the api of
 * data folder `dir`: its key pair is `api.key` there, and it lets in the keys the folder allows.
 */
export class FakeApi {
  readonly received: Received[] = [];
  /** Message types that arrived while the api was silent: not heard (no answer, no effect). */
  readonly unheard: string[] = [];
  private readonly sock = new Router({ linger: 0 });
  private readonly outbox = new Outbox((frames) => this.sock.send(frames), { routed: true });
  private allowed: AllowedKeys | undefined;
  private guard: CurveServerGuard | undefined;
  private readonly nodes = new Set<string>();
  private readonly waiters: { pred: (m: Received) => boolean; resolve: (m: Received) => void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  endpoint = '';
  /** Set false to stop answering (a silent api). */
  answering = true;

  constructor(
    private readonly dir: string,
    private readonly curve = true,
  ) {}

  async start(bind = 'tcp://127.0.0.1:*'): Promise<string> {
    if (this.curve) {
      const dir = curveDirOf(this.dir);
      // Warnings only: this runs inside the test or bench process, whose stdout is a report.
      const log = moduleLogger('fake-api').child({}, { level: 'warn' });
      this.allowed = await AllowedKeys.open(dir, log);
      this.guard = new CurveServerGuard({ keys: (await loadOrCreateKeyPair(dir, 'api')).keys, allowed: this.allowed }, 'fake-api', log);
      Object.assign(this.sock, this.guard.socketOptions());
      await this.guard.start();
    }
    await this.sock.bind(bind);
    this.endpoint = this.sock.lastEndpoint!;
    void this.loop();
    this.timer = setInterval(() => {
      if (this.answering) for (const n of this.nodes) this.send(n, 'heartbeat', {});
    }, 1_000);
    return this.endpoint;
  }

  dispatch(nodeId: string, content: Dispatch): void {
    this.send(nodeId, 'dispatch', content);
  }

  cancel(nodeId: string, callId: string, attempt: number): void {
    this.send(nodeId, 'cancel', { callId, attempt });
  }

  /** Says this api schedules, under `epoch` (as an api that took the scheduling lease does). */
  lead(nodeId: string, epoch: number): void {
    this.send(nodeId, 'leader', { epoch });
  }

  /** Resolves with the first message (already received or arriving) matching `pred`. */
  waitFor(pred: (m: Received) => boolean, what: string, timeoutMs = 30_000): Promise<Received> {
    const seen = this.received.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`fake api: no ${what} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        pred,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  finished(callId: string, attempt = 1, timeoutMs?: number): Promise<Received> {
    return this.waitFor(
      (m) => (m.msgType === 'finished' || m.msgType === 'failed') && m.content.callId === callId && m.content.attempt === attempt,
      `final report for ${callId}`,
      timeoutMs,
    );
  }

  close(): void {
    clearInterval(this.timer);
    this.sock.close();
    this.guard?.close();
    this.allowed?.close();
  }

  private send(nodeId: string, msgType: string, content: unknown): void {
    void this.outbox.send([Buffer.from(nodeId), ...encodeEvent(msgType, content)]).catch(() => undefined);
  }

  private async loop(): Promise<void> {
    try {
      for await (const [id, ...batch] of this.sock) {
        if (!id) continue;
        if (!this.answering) {
          for (const frames of unbatch(batch)) this.unheard.push((decodeEvent(frames, workerToApiSchemas) as WorkerToApi).msgType);
          continue;
        }
        const nodeId = id.toString();
        this.nodes.add(nodeId);
        for (const frames of unbatch(batch)) this.onMessage(nodeId, frames);
      }
    } catch {
      // socket closed
    }
  }

  private onMessage(nodeId: string, frames: Buffer[]): void {
    const msg = decodeEvent(frames, workerToApiSchemas) as WorkerToApi;
    const entry = { ...msg, nodeId, at: Date.now() } as Received;
    this.received.push(entry);
    if (msg.msgType === 'finished' || msg.msgType === 'failed') {
      this.send(nodeId, 'ack', { callId: msg.content.callId, attempt: msg.content.attempt });
    }
    for (const w of [...this.waiters]) {
      if (w.pred(entry)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(entry);
      }
    }
  }
}
