import { createServer } from 'node:http';
import type { Registry } from 'prom-client';
import type { MetricsBind } from '../config.js';
import { ErrorCode } from '../errors.js';

export interface MetricsServer {
  /** Where Prometheus scrapes: `http://<host>:<port>/metrics`. */
  url: string;
  close(): Promise<void>;
}

/**
 * `GET /metrics` of a daemon that has no HTTP port of its own (db, registry, worker), on a port
 * of its own: no key is asked for, so it binds loopback unless told otherwise. Anything else is
 * 404. Resolves once listening (null when `bind` is null: metrics off); throws when the port is taken.
 */
export async function startMetricsServer(bind: MetricsBind | null, registry: Registry): Promise<MetricsServer | null> {
  if (bind === null) return null;
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if ((req.method === 'GET' || req.method === 'HEAD') && path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
        (err: unknown) => res.writeHead(500, { 'content-type': 'application/json' }).end(errorBody(ErrorCode.INTERNAL, `metrics not collected: ${String(err)}`)),
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end(errorBody(ErrorCode.NOT_FOUND, 'only GET /metrics is served here'));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(new Error(`metrics not served on ${bind.host}:${bind.port} (${err.code ?? err.message}): set ${bind.variable} to a free port, 0 for any, or off`));
    });
    server.listen(bind.port, bind.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : bind.port;
  return {
    url: `http://${bind.host.includes(':') ? `[${bind.host}]` : bind.host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const errorBody = (code: string, message: string): string => JSON.stringify({ error: { code, message } });
