import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

let root: Logger | undefined;

/**
 * Where a function's secrets would sit in an object passed to a logger (a dispatch's `secrets`,
 * a push's `secret` fields), at the depths Ferry's log calls nest objects: censored, should one
 * ever be logged whole.
 */
const SECRET_PATHS = ['secrets', '*.secrets', '*.*.secrets', 'secret', '*.secret', '*.*.secret'];

/**
 * The process-wide root logger: JSON lines on stdout, level from `FERRY_LOG_LEVEL` (default
 * `info`). Daemons name themselves once with {@link setLoggerName}; modules take a child.
 */
export function rootLogger(): Logger {
  root ??= pino(
    {
      level: process.env['FERRY_LOG_LEVEL'] ?? 'info',
      base: { pid: process.pid },
      redact: { paths: SECRET_PATHS, censor: '[redacted]' },
    },
    stdoutDestination(),
  );
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

/**
 * Log lines to stdout, dropped rather than retried when nobody reads them: a daemon whose
 * supervisor died must go on serving, and stop when told, instead of waiting forever on a full
 * pipe (the default retries a blocked write without end).
 */
function stdoutDestination(): pino.DestinationStream {
  const dest = pino.destination({ fd: 1, sync: true, retryEAGAIN: () => false });
  dest.on('error', () => undefined);
  return dest;
}

/**
 * A logger for the lines about one call: its `requestId` (`Call.requestId`, see
 * shared/protocol/request-id.ts) and `callId` bound to each, so `grep <request id>` over the
 * daemons' logs shows the call's whole path. A call without a request id (stored before calls
 * kept one) binds its call id alone.
 */
export function callLogger(log: Logger, call: { callId: string; requestId?: string | null | undefined }): Logger {
  return log.child(call.requestId ? { requestId: call.requestId, callId: call.callId } : { callId: call.callId });
}
