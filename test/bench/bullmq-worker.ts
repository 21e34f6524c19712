import { Worker } from 'bullmq';

/**
 * The BullMQ contender's worker in a process of its own (`node bullmq-worker.js <port> <queue>`),
 * so its CPU is read from /proc apart from the producers'. Says `ready` on stdout; stops on SIGTERM.
 */
const [port, name] = process.argv.slice(2);
const worker = new Worker(name!, async () => '', { connection: { host: '127.0.0.1', port: Number(port) }, concurrency: 128 });
await worker.waitUntilReady();
process.stdout.write('ready\n');
process.once('SIGTERM', () => void worker.close().then(() => process.exit(0)));
