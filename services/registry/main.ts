import { runDaemon } from '../../shared/daemon/run-daemon.js';
import { startRegistryDaemon } from './registry-daemon.js';

runDaemon('registry', (config, log) => startRegistryDaemon(config.registry, config.curve, log));
