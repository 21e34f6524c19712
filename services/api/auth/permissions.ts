import { Role } from '../../../shared/protocol/api-key.js';

/** What a route asks of the key that calls it. */
export const Permission = {
  /** GET anything but keys: runtimes, functions, calls, runs, sessions, batches, nodes, the event stream, statistics, metrics. */
  read: 'read',
  /** Make calls and move them on: invoke, runs, sessions, batches; cancel, dispatch, retry. */
  invoke: 'invoke',
  /** Push and delete functions. */
  deploy: 'deploy',
  /** Register and delete runtimes (an image and a command run on every node). */
  runtimes: 'runtimes',
  /** Make, list and revoke API keys. */
  keys: 'keys',
  /** Say which key this is. */
  whoami: 'whoami',
} as const;
export type Permission = (typeof Permission)[keyof typeof Permission];

/** A route open to anyone: no key is asked for. */
export const PUBLIC = 'public';
/** What a route missing from {@link routeNeeds} needs: an admin key. */
export const ADMIN_ONLY = 'admin-only';
export type RouteNeed = Permission | typeof PUBLIC | typeof ADMIN_ONLY;

/** The one table of roles and what each may do. */
export const rolePermissions: Record<Role, ReadonlySet<Permission>> = {
  admin: new Set(Object.values(Permission)),
  developer: new Set([Permission.whoami, Permission.read, Permission.invoke, Permission.deploy]),
  invoker: new Set([Permission.whoami, Permission.read, Permission.invoke]),
  reader: new Set([Permission.whoami, Permission.read]),
};

/**
 * What each route needs, as `METHOD /path/{param}` (the OpenAPI document's form). A route missing
 * here needs every permission (an admin key): a route added without a line here is closed, not open.
 */
export const routeNeeds: Readonly<Record<string, RouteNeed>> = {
  'GET /healthz': PUBLIC,
  'GET /v1/openapi.json': PUBLIC,
  // Counts by function and status, queue depth, nodes: what a reader may see at /v1 anyway.
  'GET /metrics': Permission.read,
  'GET /v1/whoami': Permission.whoami,
  'GET /v1/keys': Permission.keys,
  'POST /v1/keys': Permission.keys,
  'DELETE /v1/keys/{id}': Permission.keys,

  'GET /v1/runtimes': Permission.read,
  'POST /v1/runtimes': Permission.runtimes,
  'GET /v1/runtimes/{name}': Permission.read,
  'DELETE /v1/runtimes/{name}': Permission.runtimes,
  'GET /v1/functions': Permission.read,
  'POST /v1/functions/{name}': Permission.deploy,
  'GET /v1/functions/{name}': Permission.read,
  'DELETE /v1/functions/{name}': Permission.deploy,
  'GET /v1/functions/{name}/versions': Permission.read,
  'POST /v1/functions/{name}/invoke': Permission.invoke,

  'GET /v1/calls': Permission.read,
  'GET /v1/calls/{id}': Permission.read,
  'GET /v1/calls/{id}/executions': Permission.read,
  'GET /v1/calls/{id}/events': Permission.read,
  'GET /v1/calls/{id}/logs': Permission.read,
  'POST /v1/calls/{id}/cancel': Permission.invoke,
  'POST /v1/calls/{id}/dispatch': Permission.invoke,
  'POST /v1/calls/{id}/retry': Permission.invoke,
  'GET /v1/dead-letters': Permission.read,
  'POST /v1/dead-letters/retry': Permission.invoke,

  'POST /v1/functions/{name}/runs': Permission.invoke,
  'GET /v1/runs': Permission.read,
  'GET /v1/runs/{id}': Permission.read,
  'GET /v1/runs/{id}/details': Permission.read,
  'GET /v1/runs/{id}/details/{detailId}': Permission.read,
  'POST /v1/runs/{id}/cancel': Permission.invoke,

  'POST /v1/sessions': Permission.invoke,
  'GET /v1/sessions': Permission.read,
  'GET /v1/sessions/{id}': Permission.read,
  'POST /v1/sessions/{id}/calls': Permission.invoke,
  'POST /v1/sessions/{id}/start': Permission.invoke,
  'POST /v1/sessions/{id}/kill': Permission.invoke,
  // Makes the next result page: it moves the session's reading on, so it is not a plain read.
  'POST /v1/sessions/{id}/results': Permission.invoke,
  'GET /v1/sessions/{id}/results/{page}': Permission.read,

  'POST /v1/batches': Permission.invoke,
  'GET /v1/batches': Permission.read,
  'GET /v1/batches/{id}': Permission.read,
  'GET /v1/batches/{id}/results': Permission.read,
  'POST /v1/batches/{id}/cancel': Permission.invoke,

  'GET /v1/events': Permission.read,
  'GET /v1/stats': Permission.read,
  'GET /v1/nodes': Permission.read,
  'GET /v1/nodes/{nodeId}': Permission.read,

  // The original API.
  'POST /registerRuntime': Permission.runtimes,
  'POST /registerFunction/{runtime}/{name}': Permission.deploy,
  'POST /invokeFunction': Permission.invoke,
  'GET /runtimes': Permission.read,
  'GET /functions': Permission.read,
  'GET /calls': Permission.read,
  'GET /call/{callNum}': Permission.read,
};

/** Whether a key of `role` may call a route that needs `need`. */
export function allows(role: Role, need: RouteNeed): boolean {
  if (need === PUBLIC) return true;
  return need === ADMIN_ONLY ? role === Role.admin : rolePermissions[role].has(need);
}

interface CompiledRoute {
  pattern: RegExp;
  need: RouteNeed;
}

/**
 * Paths match as express routes them: any letter case, an optional trailing slash, a `{param}`
 * one path segment. So every path express serves by a route gets that route's need.
 */
const byMethod = new Map<string, CompiledRoute[]>();
for (const [route, need] of Object.entries(routeNeeds)) {
  const [method = '', path = ''] = route.split(' ');
  const source = path
    .split(/\{\w+\}/)
    .map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))
    .join('[^/]+');
  const list = byMethod.get(method) ?? [];
  list.push({ pattern: new RegExp(`^${source}/?$`, 'i'), need });
  byMethod.set(method, list);
}

/**
 * The web dashboard's files (`/ui` and every path below it, read with GET): public, as they hold
 * no data; the page asks for a key and sends it with every API call it makes.
 */
const DASHBOARD = /^\/ui(\/|$)/i;

/** The need of `method` on `url` (its query ignored); HEAD as GET; a route not in the table: {@link ADMIN_ONLY}. */
export function needOf(method: string, url: string): RouteNeed {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const get = method === 'HEAD' ? 'GET' : method;
  if (get === 'GET' && DASHBOARD.test(path)) return PUBLIC;
  for (const r of byMethod.get(get) ?? []) if (r.pattern.test(path)) return r.need;
  return ADMIN_ONLY;
}

/** The need of a route named as in {@link routeNeeds}, for a route served outside express. */
export function needOfRoute(route: string): RouteNeed {
  return routeNeeds[route] ?? ADMIN_ONLY;
}
