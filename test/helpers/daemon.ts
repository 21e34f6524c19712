import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { allowTestKey, curveOn, rememberServerKey } from './curve.js';
import { onLogLines } from './log-lines.js';

/** The repository root, found from here whether this runs as test/… source or dist/test/… build. */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('repository root not found');
    dir = up;
  }
  return dir;
}
const root = repoRoot();

export interface DaemonProcess {
  proc: ChildProcess;
  /** The endpoint the daemon logged in its `listening` line. */
  endpoint: string;
  /** Every JSON log line the daemon has written so far. */
  logs: Record<string, unknown>[];
  /** The `listening` line itself (the api's has its `url`). */
  ready: Record<string, unknown>;
  /** Its `GET /metrics` URL from its `listening` line (`metricsUrl`); null when it serves none there (the api serves it on its HTTP port). */
  metricsUrl: string | null;
  /** The daemon's CurveZMQ public key, from its `listening` line; null when it runs without CurveZMQ. */
  publicKey: string | null;
  /** Everything it wrote to stderr so far (nothing, unless something went wrong). */
  stderr(): string;
  /** Sends `signal` and resolves once the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Metrics on free ports: the fixed defaults would clash between tests running side by side. */
export const FREE_METRICS_PORTS = { FERRY_DB_METRICS_PORT: '0', FERRY_REGISTRY_METRICS_PORT: '0', FERRY_WORKER_METRICS_PORT: '0' } as const;

/**
 * Starts a built daemon (`dist/services/<name>/main.js`) as a real child process and resolves once
 * it logs `listening`. Tests bind `tcp://127.0.0.1:*` and read the real endpoint from that line.
 * With CurveZMQ (the default) the test process's key is allowed in the daemon's data folder first,
 * and a server's public key is remembered by its endpoint for the helpers that connect to it.
 */
export async function spawnDaemon(name: string, env: Record<string, string>, timeoutMs = 15_000): Promise<DaemonProcess> {
  const dataDir = env['FERRY_DATA_DIR'];
  if (curveOn(env) && dataDir) await allowTestKey(dataDir);
  const script = path.join(root, 'dist', 'services', name, 'main.js');
  // Profiling daemons under test: FERRY_NODE_ARGS="--cpu-prof --cpu-prof-dir=…" in its env or the runner's.
  const nodeArgs = (env['FERRY_NODE_ARGS'] ?? process.env['FERRY_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  const proc = spawn(process.execPath, [...nodeArgs, script], {
    env: { ...process.env, FERRY_LOG_LEVEL: 'debug', ...FREE_METRICS_PORTS, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));

  return new Promise<DaemonProcess>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not log "listening" within ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${name} exited before listening (code ${proc.exitCode}): ${stderr} ${JSON.stringify(logs)}`));
    });
    onLogLines(proc.stdout!, (entry) => {
      logs.push(entry);
      if (entry['msg'] === 'listening' && typeof entry['endpoint'] === 'string') {
        clearTimeout(timer);
        const publicKey = typeof entry['publicKey'] === 'string' ? entry['publicKey'] : null;
        // A worker's `endpoint` is the api it connects to, not a socket of its own.
        if (publicKey && name !== 'worker') rememberServerKey(entry['endpoint'], publicKey);
        resolve({
          proc,
          endpoint: entry['endpoint'],
          logs,
          ready: entry,
          publicKey,
          metricsUrl: typeof entry['metricsUrl'] === 'string' ? entry['metricsUrl'] : null,
          stderr: () => stderr,
          kill: async (signal: NodeJS.Signals = 'SIGTERM') => {
            if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
            await exited;
          },
        });
      }
    });
  });
}
