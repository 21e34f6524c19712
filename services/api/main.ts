import { runDaemon } from '../../shared/daemon/run-daemon.js';
import { startApiDaemon } from './api-daemon.js';

runDaemon('api', (config, log) => startApiDaemon(config, log));
