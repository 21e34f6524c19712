import express, { type Express } from 'express';
import { nanoid } from 'nanoid';
import type { ApiDeps } from './deps.js';
import { errorHandler, notFoundRoute } from './errors.js';
import { legacyRoutes } from './legacy-routes.js';
import { openapi } from './openapi.js';
import { JSON_BODY_LIMIT_BYTES } from './parse.js';
import { v1Routes } from './v1-routes.js';

/** The api's HTTP app: the original routes at the root, the versioned surface under /v1. */
export function createApp(deps: ApiDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((req, res, next) => {
    // One request id follows a request through the logs; a caller may supply its own.
    const id = req.get('x-request-id') ?? nanoid(12);
    res.set('x-request-id', id);
    next();
  });
  app.use(express.json({ limit: JSON_BODY_LIMIT_BYTES, strict: false }));

  app.get('/healthz', async (_req, res) => {
    const [db, registry] = await Promise.all([
      deps.db.call('ping', {}, { timeoutMs: 1_000, retries: 0 }).then(() => 'ok', () => 'unreachable'),
      deps.registry.rpc.call('ping', {}, { timeoutMs: 1_000, retries: 0 }).then(() => 'ok', () => 'unreachable'),
    ]);
    const healthy = db === 'ok' && registry === 'ok';
    res.status(healthy ? 200 : 503).json({
      status: healthy ? 'ok' : 'degraded',
      db,
      registry,
      nodes: deps.scheduler.nodes.list().length,
      queued: deps.scheduler.queued,
      running: deps.scheduler.running,
    });
  });
  app.get('/v1/openapi.json', (_req, res) => {
    res.json(openapi);
  });
  app.use('/v1', v1Routes(deps));
  app.use(legacyRoutes(deps));
  app.use(notFoundRoute);
  app.use(errorHandler(deps.log, deps.config.maxUploadBytes));
  return app;
}
