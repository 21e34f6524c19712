import { Queue, QueueEvents, Worker } from 'bullmq';
import type { Contender } from './contenders.js';

/**
 * What a user might do instead of a FaaS: put a no-op job on a Redis queue with BullMQ and await
 * it (`waitUntilFinished`). The worker runs in this process with enough concurrency for the load.
 */
export async function bullmqContender(port: number): Promise<{ contender: Contender; close: () => Promise<void> }> {
  const connection = { host: '127.0.0.1', port };
  const name = `ferry-bench-${process.pid}`;
  const queue = new Queue(name, { connection });
  const events = new QueueEvents(name, { connection });
  const worker = new Worker(name, async () => '', { connection, concurrency: 128 });
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady(), worker.waitUntilReady()]);
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
    close: async () => {
      await worker.close();
      await events.close();
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
    },
  };
}
