import type { Server, Socket } from 'node:net';
import { metricsSchema, progressSchema, type CallError } from '../../../shared/protocol/call-outcome.js';
import { executionId } from '../../../shared/protocol/execution.js';
import { CallErrorCode, failedOutcome, type CallOutcome, type CallTask, type ProgressSink } from '../call-task.js';
import { closeAgentSocket, listenAgentSocket } from './agent-socket.js';

/** What an agent answers for one call (runtimes/AGENT-PROTOCOL.md). */
export interface AgentResult {
  ok: boolean;
  result: string;
  /** `final` set when the function raised `Final`: its failure is not to be retried. */
  error: CallError | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
}

interface AgentMessage {
  type?: unknown;
  callId?: unknown;
  ok?: unknown;
  [key: string]: unknown;
}

/** The agent's `ready`: whether its handler loaded. */
export interface AgentReady {
  ok: boolean;
  error?: string;
}

/** Longest line accepted from an agent; output is capped agent-side well below this. */
const MAX_LINE_BYTES = 8 * 1024 * 1024;

/**
 * The miniworker's end of the agent protocol: listens on a Unix socket the container sees
 * through a bind mount, accepts the agent's one connection, and runs calls over it as JSON lines.
 */
export class AgentChannel {
  private sock: Socket | undefined;
  private buffered = '';
  private readyWaiter: { resolve: (r: AgentReady) => void; reject: (e: Error) => void } | undefined;
  private readyState: AgentReady | undefined;
  private current: { callId: string; sink: ProgressSink; resolve: (r: AgentResult) => void; reject: (e: Error) => void } | undefined;
  private closedError: Error | undefined;
  private loadWaiter: { resolve: (r: { ok: boolean; error?: string }) => void; reject: (e: Error) => void } | undefined;

  private constructor(
    private readonly server: Server,
    readonly socketPath: string,
  ) {}

  static async listen(socketPath: string): Promise<AgentChannel> {
    let channel: AgentChannel | undefined;
    const server = await listenAgentSocket(socketPath, (sock) => channel?.accept(sock));
    channel = new AgentChannel(server, socketPath);
    return channel;
  }

  /** Resolves once the agent has connected and loaded its handler (or failed to). */
  ready(timeoutMs: number): Promise<AgentReady> {
    if (this.readyState) return Promise.resolve(this.readyState);
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.readyWaiter = undefined;
        reject(new Error(`agent did not become ready within ${timeoutMs} ms`));
      }, timeoutMs);
      this.readyWaiter = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  /** Sends one call and resolves with the agent's result; rejects if the agent goes away first. */
  call(task: Pick<CallTask, 'callId' | 'attempt' | 'params'>, sink: ProgressSink): Promise<AgentResult> {
    const sock = this.sock;
    if (this.closedError || !sock) return Promise.reject(this.closedError ?? new Error('agent not connected'));
    if (this.current) return Promise.reject(new Error('agent is busy with another call'));
    const { callId, attempt } = task;
    return new Promise<AgentResult>((resolve, reject) => {
      this.current = { callId, sink, resolve, reject };
      const msg = { type: 'call', callId, attempt, executionId: executionId(callId, attempt), params: task.params ?? null };
      sock.write(JSON.stringify(msg) + '\n');
    });
  }

  /** Asks an agent started without a handler (runtime-wide container) to load one from its code dir. */
  load(handler: string): Promise<{ ok: boolean; error?: string }> {
    const sock = this.sock;
    if (this.closedError || !sock) return Promise.reject(this.closedError ?? new Error('agent not connected'));
    return new Promise((resolve, reject) => {
      this.loadWaiter = { resolve, reject };
      sock.write(JSON.stringify({ type: 'load', handler }) + '\n');
    });
  }

  /** The agent's process is gone (it exited before or during a call): fail whatever waits on it. */
  abandon(reason: string): void {
    this.fail(new Error(reason));
  }

  async close(): Promise<void> {
    this.fail(new Error('agent channel closed'));
    this.sock?.destroy();
    await closeAgentSocket(this.server, this.socketPath);
  }

  private accept(sock: Socket): void {
    if (this.sock) {
      sock.destroy(); // one agent per container
      return;
    }
    this.sock = sock;
    sock.setEncoding('utf8');
    sock.on('data', (data: string) => this.onData(data));
    sock.on('close', () => this.fail(new Error('agent connection closed')));
    sock.on('error', () => undefined); // 'close' follows and reports it
  }

  private onData(data: string): void {
    this.buffered += data;
    let nl: number;
    while ((nl = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      if (line.length > 0) this.onLine(line);
    }
    if (this.buffered.length > MAX_LINE_BYTES) {
      this.fail(new Error('agent sent an over-long line'));
      this.sock?.destroy();
    }
  }

  private onLine(line: string): void {
    let msg: AgentMessage;
    try {
      msg = JSON.parse(line) as AgentMessage;
    } catch {
      return; // not protocol: ignore rather than fail a call over stray output
    }
    if (msg.type === 'ready') {
      const err = msg['error'] as { message?: unknown } | undefined;
      this.readyState = msg.ok === true ? { ok: true } : { ok: false, error: String(err?.message ?? 'handler failed to load') };
      this.readyWaiter?.resolve(this.readyState);
      this.readyWaiter = undefined;
      return;
    }
    if (msg.type === 'loaded') {
      const err = msg['error'] as { message?: unknown } | undefined;
      this.loadWaiter?.resolve(msg.ok === true ? { ok: true } : { ok: false, error: String(err?.message ?? 'handler failed to load') });
      this.loadWaiter = undefined;
      return;
    }
    const current = this.current;
    if (!current || msg.callId !== current.callId) return;
    switch (msg.type) {
      case 'progress': {
        // A report the api would refuse is dropped here, where it is cheapest.
        const value = progressSchema.safeParse(msg['value']);
        if (value.success) current.sink.progress(value.data);
        return;
      }
      case 'metrics': {
        const values = metricsSchema.safeParse(msg['values']);
        if (values.success) current.sink.metrics(values.data);
        return;
      }
      case 'log':
        current.sink.log(String(msg['line'] ?? ''));
        return;
      case 'result': {
        this.current = undefined;
        current.resolve({
          ok: msg.ok === true,
          result: typeof msg['result'] === 'string' ? msg['result'] : '',
          error: msg.ok === true ? null : agentError(msg['error']),
          stdout: String(msg['stdout'] ?? ''),
          stderr: String(msg['stderr'] ?? ''),
          truncated: msg['truncated'] === true,
        });
        return;
      }
      default:
        return;
    }
  }

  private fail(err: Error): void {
    this.closedError ??= err;
    this.loadWaiter?.reject(err);
    this.loadWaiter = undefined;
    this.readyWaiter?.reject(err);
    this.readyWaiter = undefined;
    const current = this.current;
    this.current = undefined;
    current?.reject(err);
  }
}

/** A failed call's error as the agent sent it; only a literal `final: true` makes it final. */
function agentError(raw: unknown): CallError {
  const error = (typeof raw === 'object' && raw !== null ? raw : {}) as { code?: unknown; message?: unknown; final?: unknown };
  return {
    code: String(error.code ?? 'FUNCTION_ERROR'),
    message: String(error.message ?? 'function failed'),
    ...(error.final === true ? { final: true } : {}),
  };
}

const AGENT_READY_TIMEOUT_MS = 30_000;

/**
 * Runs one call through an agent as a CallOutcome. When the agent goes away mid-call,
 * `explainDeath` says why (timeout kill, out of memory) or null for a plain crash.
 */
export async function callAgent(
  channel: AgentChannel,
  task: CallTask,
  sink: ProgressSink,
  explainDeath: (initMs: number, runMs: number) => Promise<CallOutcome | null>,
): Promise<CallOutcome> {
  const initStart = performance.now();
  const ready = await channel.ready(AGENT_READY_TIMEOUT_MS).catch((err: unknown) => ({ ok: false, error: String(err) }));
  const runStart = performance.now();
  const initMs = runStart - initStart;
  if (!ready.ok) {
    return failedOutcome(CallErrorCode.AGENT_FAILED, `the function's handler did not load: ${ready.error ?? 'unknown error'}`, initMs, 0);
  }
  try {
    const r = await channel.call(task, sink);
    return {
      status: r.ok ? 'DONE' : 'ERROR',
      result: r.ok ? r.result : '',
      error: r.error,
      logs: { stdout: r.stdout, stderr: r.stderr, truncated: r.truncated },
      timings: { initMs, runMs: performance.now() - runStart },
    };
  } catch {
    const runMs = performance.now() - runStart;
    return (
      (await explainDeath(initMs, runMs)) ??
      failedOutcome(CallErrorCode.AGENT_FAILED, 'the runtime agent exited during the call', initMs, runMs)
    );
  }
}
