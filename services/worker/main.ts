import { runDaemon } from '../../shared/daemon/run-daemon.js';
import { startWorkerDaemon } from './node/worker-daemon.js';

runDaemon('worker', (config, log) => startWorkerDaemon(config.worker, config.client, config.curve, log));
