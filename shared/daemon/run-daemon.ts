import { ConfigError, loadConfig, type FerryConfig } from '../config.js';
import { rootLogger, setLoggerName, type Logger } from '../logger.js';

/** Past this, a stopping daemon exits anyway. */
const STOP_TIMEOUT_MS = 20_000;

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

  // A daemon whose log reader went away (its supervisor died) must still stop: writes to a
  // closed stdout fail with EPIPE, which must neither throw out of the signal handler nor linger.
  process.stdout.on('error', () => undefined);
  const say = (fn: () => void): void => {
    try {
      fn();
    } catch {
      // logging is best effort while stopping
    }
  };

  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(1), STOP_TIMEOUT_MS).unref();
    say(() => log.info({ signal }, 'stopping'));
    const closing = daemon ? daemon.close() : Promise.resolve();
    closing.then(
      () => {
        say(() => log.info('stopped'));
        process.exit(0);
      },
      (err: unknown) => {
        say(() => log.error({ err }, 'stop failed'));
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
