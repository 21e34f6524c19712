import type { Express } from 'express';
import { Guard } from '../../services/api/auth/guard.js';
import { createApp } from '../../services/api/http/app.js';
import { batchesRoutes } from '../../services/api/http/batches-routes.js';
import type { ApiDeps } from '../../services/api/http/deps.js';
import { INVOKE_ROUTE } from '../../services/api/http/invoke-route.js';
import { keysRoutes } from '../../services/api/http/keys-routes.js';
import { legacyRoutes } from '../../services/api/http/legacy-routes.js';
import { openapi } from '../../services/api/http/openapi.js';
import { runsRoutes } from '../../services/api/http/runs-routes.js';
import { sessionsRoutes } from '../../services/api/http/sessions-routes.js';
import { v1Routes } from '../../services/api/http/v1-routes.js';

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
}

/** `METHOD /path/{param}` for each operation in the OpenAPI document. */
export function documentedRoutes(): string[] {
  return Object.entries(openapi.paths)
    .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`))
    .sort();
}

/**
 * `METHOD /path/{param}` for each route the api serves, read from the routers themselves (built
 * on stubs: no route runs): `v1` the /v1 surface, /healthz and the invoke route served outside
 * express; `legacy` the original API.
 */
export function servedRoutes(): { v1: string[]; legacy: string[] } {
  const stub = {} as never;
  const deps: ApiDeps = { config: { maxUploadBytes: 1 } as never, db: stub, registry: stub, catalog: stub, secrets: stub, scheduler: stub, checks: stub, guard: new Guard(false, stub), refusals: stub, metrics: stub, log: stub };
  const routes = (router: unknown, prefix: string): string[] =>
    (router as { stack: Layer[] }).stack.flatMap((layer) =>
      layer.route ? Object.keys(layer.route.methods).map((m) => `${m.toUpperCase()} ${prefix}${layer.route!.path.replace(/:(\w+)/g, '{$1}')}`) : [],
    );
  const app = createApp(deps) as Express & { router: unknown };
  const v1 = [
    ...routes(app.router, ''),
    ...[keysRoutes(deps), v1Routes(deps), runsRoutes(stub), sessionsRoutes(stub), batchesRoutes(stub)].flatMap((r) => routes(r, '/v1')),
    INVOKE_ROUTE,
  ];
  return { v1: v1.sort(), legacy: routes(legacyRoutes(deps), '').sort() };
}
