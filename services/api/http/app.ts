import express, { type Express } from 'express';
import type { HealthView } from '../../../shared/protocol/health-view.js';
import type { ApiDeps } from './deps.js';
import { errorHandler, notFoundRoute } from './errors.js';
import { legacyRoutes } from './legacy-routes.js';
import { openapi } from './openapi.js';
import { isJson, readJsonBody } from './json-body.js';
import { requestId } from './request-id.js';
import { Batches } from '../groups/batches.js';
import { Runs } from '../groups/runs.js';
import { batchesRoutes } from './batches-routes.js';
import { keysRoutes } from './keys-routes.js';
import { runsRoutes } from './runs-routes.js';
import { Sessions } from '../groups/sessions.js';
import { sessionsRoutes } from './sessions-routes.js';
import { uiRoutes } from './ui-static.js';
import { v1Routes } from './v1-routes.js';

/** The api's HTTP app: the original routes at the root, the versioned surface under /v1. */
export function createApp(deps: ApiDeps): Express {
  const app = express();
  app.locals.refusals = deps.refusals;
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((req, res, next) => {
    // One request id follows a request through the logs; a caller may supply its own.
    requestId(req, res);
    next();
  });
  // Before any body is read: a request without the right key is answered at once.
  app.use(deps.guard.middleware());
  app.use((req, _res, next) => {
    if (!isJson(req)) return next();
    readJsonBody(req).then((body) => {
      req.body = body;
      next();
    }, next);
  });

  app.get('/healthz', async (_req, res) => {
    const [dbPing, registryPing, counters] = await Promise.all([
      deps.db.call('ping', {}, { timeoutMs: 1_000, retries: 0 }).catch(() => null),
      deps.registry.rpc.call('ping', {}, { timeoutMs: 1_000, retries: 0 }).catch(() => null),
      deps.db.call('getCounters', {}, { timeoutMs: 1_000, retries: 0 }).catch(() => null),
    ]);
    const healthy = dbPing !== null && registryPing !== null;
    const health: HealthView = {
      status: healthy ? 'ok' : 'degraded',
      db: dbPing ? 'ok' : 'unreachable',
      registry: registryPing ? 'ok' : 'unreachable',
      // Inputs each daemon refused since it started, by error code (null: it did not answer).
      refused: { api: deps.refusals.snapshot(), db: dbPing?.refused ?? null, registry: registryPing?.refused ?? null },
      scheduling: deps.scheduler.isActive,
      nodes: deps.scheduler.nodes.list().length,
      queued: deps.scheduler.queued,
      backingOff: deps.scheduler.backingOff,
      running: deps.scheduler.running,
      // Retention keeps calls from here on (null: the store holds none, or the DB did not answer).
      oldestCall: counters?.oldestCall ?? null,
    };
    res.status(healthy ? 200 : 503).json(health);
  });
  app.get('/metrics', (_req, res, next) => {
    const { registry } = deps.metrics;
    registry.metrics().then((text) => res.set('content-type', registry.contentType).send(text), next);
  });
  app.get('/v1/openapi.json', (_req, res) => {
    res.json(openapi);
  });
  app.use('/v1', keysRoutes(deps));
  app.use('/v1', v1Routes(deps));
  app.use('/v1', runsRoutes(deps.runs ?? new Runs({ db: deps.db, scheduler: deps.scheduler, log: deps.log })));
  app.use('/v1', sessionsRoutes(deps.sessions ?? new Sessions({ db: deps.db, scheduler: deps.scheduler, log: deps.log })));
  app.use('/v1', batchesRoutes(deps.batches ?? new Batches({ db: deps.db, scheduler: deps.scheduler, log: deps.log })));
  app.use('/ui', uiRoutes());
  app.use(legacyRoutes(deps));
  app.use(notFoundRoute);
  app.use(errorHandler(deps.log, deps.config.maxUploadBytes));
  return app;
}
