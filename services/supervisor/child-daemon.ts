import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from '../../shared/logger.js';

export interface ChildDaemonOptions {
  name: string;
  script: string;
  env: NodeJS.ProcessEnv;
  log: Logger;
  /** Sees each of its log lines (they go to stdout as well). */
  onLine?: (line: string) => void;
  /** Grace period between SIGTERM and SIGKILL on stop. */
  stopTimeoutMs?: number;
}

/**
 * One daemon under the supervisor: started as a child process, ready once it logs `listening`,
 * restarted with back-off when it dies on its own, stopped with SIGTERM then SIGKILL.
 * Its log lines pass through to the supervisor's stdout unchanged.
 */
export class ChildDaemon {
  private proc: ChildProcess | undefined;
  private state: 'stopped' | 'starting' | 'running' | 'stopping' = 'stopped';
  private restarts = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  endpoint = '';
  /** The api's HTTP address, from its `listening` line. */
  url: string | undefined;

  constructor(private readonly opts: ChildDaemonOptions) {}

  /** Starts the process and resolves with the endpoint it logged, or rejects if it exits first. */
  start(): Promise<string> {
    this.state = 'starting';
    const proc = spawn(process.execPath, [this.opts.script], { env: this.opts.env, stdio: ['ignore', 'pipe', 'inherit'] });
    this.proc = proc;
    this.opts.log.info({ child: this.opts.name, pid: proc.pid }, 'daemon started');
    return new Promise<string>((resolve, reject) => {
      createInterface({ input: proc.stdout! }).on('line', (line) => {
        process.stdout.write(line + '\n');
        this.opts.onLine?.(line);
        if (this.state === 'starting' && line.includes('"msg":"listening"')) {
          this.endpoint = /"endpoint":"([^"]+)"/.exec(line)?.[1] ?? '';
          this.url = /"url":"([^"]+)"/.exec(line)?.[1];
          this.state = 'running';
          this.restarts = 0;
          resolve(this.endpoint);
        }
      });
      proc.once('exit', (code, signal) => {
        const was = this.state;
        this.proc = undefined;
        if (was === 'stopping' || was === 'stopped') return;
        this.opts.log.error({ child: this.opts.name, code, signal }, 'daemon exited');
        if (was === 'starting' && this.restarts === 0) {
          this.state = 'stopped';
          reject(new Error(`${this.opts.name} exited during start (code ${code}, signal ${signal})`));
          return;
        }
        this.scheduleRestart();
      });
    });
  }

  /**
   * Says the process is about to exit on purpose (Ctrl-C reaches the whole process group at
   * once), so its exit is not taken for a crash to restart.
   */
  expectExit(): void {
    clearTimeout(this.restartTimer);
    this.state = 'stopping';
  }

  /** SIGTERM, then SIGKILL after the grace period. Idempotent. */
  async stop(): Promise<void> {
    this.expectExit();
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) {
      this.state = 'stopped';
      return;
    }
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const killer = setTimeout(() => proc.kill('SIGKILL'), this.opts.stopTimeoutMs ?? 10_000);
    await exited;
    clearTimeout(killer);
    this.state = 'stopped';
  }

  private scheduleRestart(): void {
    this.restarts += 1;
    const delayMs = Math.min(30_000, 500 * 2 ** Math.min(this.restarts, 6));
    this.opts.log.warn({ child: this.opts.name, delayMs, restarts: this.restarts }, 'restarting daemon');
    this.state = 'starting';
    this.restartTimer = setTimeout(() => {
      this.start().catch((err: unknown) => this.opts.log.error({ err, child: this.opts.name }, 'restart failed'));
    }, delayMs);
  }
}
