import { ConfigError, loadConfig, type FerryConfig } from '../config.js';
import { rootLogger, setLoggerName, type Logger } from '../logger.js';

export interface RunningDaemon {
  close(): Promise<void>;
}

/**
 * Common start-up of every daemon's `main`: name the logger, read config, start, and stop
 * cleanly on SIGINT/SIGTERM. A config error or a failed start exits 1 with one clear log line.
 */
export function runDaemon(name: string, start: (config: FerryConfig, log: Logger) => Promise<RunningDaemon>): void {
  setLoggerName(name);
  const log = rootLogger();
  let daemon: RunningDaemon | undefined;
  let stopping = false;

  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    const closing = daemon ? daemon.close() : Promise.resolve();
    closing.then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  const started = async (): Promise<void> => {
    const config = loadConfig();
    daemon = await start(config, log);
  };
  started().catch((err: unknown) => {
    if (err instanceof ConfigError) log.fatal(err.message);
    else log.fatal({ err }, 'start failed');
    process.exit(1);
  });
}
