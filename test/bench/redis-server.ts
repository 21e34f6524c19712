import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { freePort } from '../helpers/free-port.js';


/**
 * A throwaway Redis on a loopback port for the BullMQ comparison: installed from Debian's
 * `redis-server` package when missing, no persistence, stopped by `stop()`.
 */
export async function startRedis(): Promise<{ port: number; pid: number; stop: () => Promise<void> }> {
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    process.stderr.write('installing redis-server from Debian packages for the BullMQ comparison\n');
    execFileSync('sh', ['-c', 'apt-get install -y -qq redis-server >/dev/null || (apt-get update -qq && apt-get install -y -qq redis-server >/dev/null)'], { stdio: 'inherit' });
  }
  const port = await freePort();
  const proc: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('redis-server did not start within 10 s')), 10_000);
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      if (line.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.once('exit', (code) => reject(new Error(`redis-server exited (${code})`)));
  });
  return {
    port,
    pid: proc.pid!,
    stop: async () => {
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}
