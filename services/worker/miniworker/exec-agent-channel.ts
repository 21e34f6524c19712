import type { Server, Socket } from 'node:net';
import { closeAgentSocket, listenAgentSocket } from './agent-socket.js';

/** Frame types (runtimes/exec-agent/exec-agent.c): one byte, a 4-byte big-endian length, the payload. */
const Frame = {
  call: 0x43, // C
  stdinData: 0x44, // D
  stdinEnd: 0x5a, // Z
  ready: 0x52, // R
  stdout: 0x4f, // O
  stderr: 0x45, // E
  exit: 0x58, // X
} as const;
const HEADER = 5;
/** The agent sends output in chunks of at most 64 KiB; anything far larger is not the protocol. */
const MAX_FRAME = 1024 * 1024;

/** Where a running command's output goes as it streams in. */
export interface ExecIo {
  stdout(chunk: Buffer): void;
  stderr(chunk: Buffer): void;
}

/**
 * The miniworker's end of the exec agent (runtimes/exec-agent): the static program a reused exec
 * container runs as its command. Per call it sends the command, its variables and its stdin; the
 * agent starts the command inside the container and streams back its stdout, stderr and exit code.
 */
export class ExecAgentChannel {
  private sock: Socket | undefined;
  private pending: Buffer = Buffer.alloc(0);
  private readonly connected: Promise<void>;
  private onConnected!: { resolve: () => void; reject: (err: Error) => void };
  private current: { io: ExecIo; resolve: (code: number) => void; reject: (err: Error) => void } | undefined;
  private closedError: Error | undefined;

  private constructor(
    private readonly server: Server,
    private readonly socketPath: string,
  ) {
    this.connected = new Promise((resolve, reject) => {
      this.onConnected = { resolve, reject };
    });
    this.connected.catch(() => undefined); // read by ready(); a container that never starts is not an unhandled rejection
  }

  static async listen(socketPath: string): Promise<ExecAgentChannel> {
    let channel: ExecAgentChannel | undefined;
    const server = await listenAgentSocket(socketPath, (sock) => channel?.accept(sock));
    channel = new ExecAgentChannel(server, socketPath);
    return channel;
  }

  /** Resolves once the agent has connected and said ready. */
  async ready(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the exec agent did not connect within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.connected, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Runs `sh -c command` in the container with `env` added to the container's own, `stdin` as its
   * input; resolves with its exit code (128+N when signal N ended it), rejects if the agent goes away.
   */
  run(command: string, env: Record<string, string>, stdin: Buffer, io: ExecIo): Promise<number> {
    const sock = this.sock;
    if (this.closedError || !sock) return Promise.reject(this.closedError ?? new Error('exec agent not connected'));
    if (this.current) return Promise.reject(new Error('exec agent is busy with another call'));
    return new Promise<number>((resolve, reject) => {
      this.current = { io, resolve, reject };
      const strings = [command, ...Object.entries(env).map(([name, value]) => `${name}=${value}`)];
      sock.cork();
      sock.write(frame(Frame.call, Buffer.from(strings.map((s) => `${s}\0`).join(''))));
      if (stdin.length > 0) sock.write(frame(Frame.stdinData, stdin));
      sock.write(frame(Frame.stdinEnd, Buffer.alloc(0)));
      sock.uncork();
    });
  }

  /** The agent's container is gone: fail whatever waits on it. */
  abandon(reason: string): void {
    this.fail(new Error(reason));
  }

  async close(): Promise<void> {
    this.fail(new Error('exec agent channel closed'));
    this.sock?.destroy();
    await closeAgentSocket(this.server, this.socketPath);
  }

  private accept(sock: Socket): void {
    if (this.sock || this.closedError) {
      sock.destroy(); // one agent per container
      return;
    }
    this.sock = sock;
    sock.on('data', (data: Buffer) => this.onData(data));
    sock.on('close', () => this.fail(new Error('exec agent connection closed')));
    sock.on('error', () => undefined); // 'close' follows and reports it
  }

  private onData(data: Buffer): void {
    this.pending = this.pending.length === 0 ? data : Buffer.concat([this.pending, data]);
    let at = 0;
    while (this.pending.length - at >= HEADER) {
      const length = this.pending.readUInt32BE(at + 1);
      if (length > MAX_FRAME) {
        this.fail(new Error('the exec agent sent an over-long frame'));
        this.sock?.destroy();
        return;
      }
      if (this.pending.length - at < HEADER + length) break;
      this.onFrame(this.pending[at]!, this.pending.subarray(at + HEADER, at + HEADER + length));
      at += HEADER + length;
    }
    this.pending = at === this.pending.length ? Buffer.alloc(0) : this.pending.subarray(at);
  }

  private onFrame(type: number, payload: Buffer): void {
    if (type === Frame.ready) {
      this.onConnected.resolve();
      return;
    }
    const current = this.current;
    if (!current) return;
    switch (type) {
      case Frame.stdout:
        current.io.stdout(payload);
        return;
      case Frame.stderr:
        current.io.stderr(payload);
        return;
      case Frame.exit:
        this.current = undefined;
        current.resolve(payload.readUInt32BE(0));
        return;
    }
  }

  private fail(err: Error): void {
    this.closedError ??= err;
    this.onConnected.reject(err);
    const current = this.current;
    this.current = undefined;
    current?.reject(err);
  }
}

function frame(type: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(HEADER);
  header[0] = type;
  header.writeUInt32BE(payload.length, 1);
  return Buffer.concat([header, payload]);
}
