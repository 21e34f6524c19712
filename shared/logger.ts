import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

let root: Logger | undefined;

/**
 * The process-wide root logger: JSON lines on stdout, level from `FERRY_LOG_LEVEL` (default
 * `info`). Daemons name themselves once with {@link setLoggerName}; modules take a child.
 */
export function rootLogger(): Logger {
  root ??= pino({
    level: process.env['FERRY_LOG_LEVEL'] ?? 'info',
    base: { pid: process.pid },
  });
  return root;
}

/** Gives the root logger a daemon name (`db`, `registry`, …) that every child inherits. */
export function setLoggerName(daemon: string): void {
  root = rootLogger().child({ daemon });
}

/** One child logger per module: `const log = moduleLogger('db.store')`. */
export function moduleLogger(module: string): Logger {
  return rootLogger().child({ module });
}
