import { runDaemon } from '../../shared/daemon/run-daemon.js';
import { startDbDaemon } from './db-daemon.js';

runDaemon('db', (config, log) => startDbDaemon(config.db, config.curve, log));
