import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents, Worker } from 'bullmq';
import type { Contender } from './contenders.js';

/**
 * What a user might do instead of a FaaS: put a no-op job on a Redis queue with BullMQ and await
 * it (`waitUntilFinished`). The worker runs with enough concurrency for the load: in this process,
 * or with `workerProcess` in a process of its own (`workerPid`), so its CPU can be read apart.
 */
export async function bullmqContender(
  port: number,
  options: { workerProcess?: boolean } = {},
): Promise<{ contender: Contender; workerPid: number; close: () => Promise<void> }> {
  const connection = { host: '127.0.0.1', port };
  const name = `ferry-bench-${process.pid}`;
  const queue = new Queue(name, { connection });
  const events = new QueueEvents(name, { connection });
  const worker = options.workerProcess ? await workerProcess(port, name) : new Worker(name, async () => '', { connection, concurrency: 128 });
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady(), worker instanceof Worker ? worker.waitUntilReady() : undefined]);
  // Every awaited job listens on these; many in flight is the point of the run.
  queue.setMaxListeners(0);
  events.setMaxListeners(0);
  const contender: Contender = {
    name: 'bullmq',
    client: async () => async () => {
      const job = await queue.add('noop', {}, { removeOnComplete: { count: 20_000 }, removeOnFail: { count: 1_000 } });
      await job.waitUntilFinished(events);
    },
  };
  return {
    contender,
    workerPid: worker instanceof Worker ? process.pid : worker.pid!,
    close: async () => {
      if (worker instanceof Worker) {
        await worker.close();
      } else {
        const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
        worker.kill('SIGTERM');
        await exited;
      }
      await events.close();
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
    },
  };
}

async function workerProcess(port: number, name: string): Promise<ChildProcess> {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'bullmq-worker.js');
  const proc = spawn(process.execPath, [script, String(port), name], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).once('line', () => resolve());
    proc.once('exit', (code) => reject(new Error(`the BullMQ worker process exited (${code})`)));
  });
  return proc;
}
