import { Router, type Request } from 'express';
import { BadRequestError } from '../../../shared/errors.js';
import type { Call } from '../../../shared/protocol/domain.js';
import { callerKeyId } from '../auth/guard.js';
import type { ApiDeps } from './deps.js';
import { bundleUpload, pushFunction } from './function-push.js';
import { checkTargetFirst } from './push-target.js';
import { registerRuntime } from './runtime-register.js';
import { requestId } from './request-id.js';

/** How the first version of the API showed a call. */
function legacyCall(c: Call): { funcName: string; params: unknown; callNum: number; status: string; result: string } {
  return { funcName: c.funcName, params: c.params, callNum: c.callNum, status: c.status, result: c.result };
}

/** Newest calls `GET /calls` lists; the full store is paged under /v1/calls. */
const LEGACY_CALLS_LIMIT = 1000;

/**
 * The original HTTP API, verbatim in paths and field names, so existing curl scripts work:
 * registerRuntime, registerFunction/:runtime/:name, invokeFunction, runtimes, functions, calls,
 * call/:callNum.
 */
export function legacyRoutes(deps: ApiDeps): Router {
  const r = Router();

  r.post('/registerRuntime', async (req, res) => {
    res.status(201).json(await registerRuntime(deps, req.body));
  });

  // Name and runtime are in the path: both are checked before the body is read.
  const pushTarget = (req: Request): { name: string; runtime: string } => ({ name: String(req.params['name']), runtime: String(req.params['runtime']) });
  r.post('/registerFunction/:runtime/:name', checkTargetFirst(deps, pushTarget), bundleUpload(deps), async (req, res) => {
    const fn = await pushFunction(deps, { name: String(req.params['name']), runtime: String(req.params['runtime']), file: req.file });
    res.status(201).json(fn);
  });

  r.post('/invokeFunction', async (req, res) => {
    const body = (req.body ?? {}) as { funcName?: unknown; params?: unknown };
    if (typeof body.funcName !== 'string' || body.funcName === '') throw new BadRequestError('funcName is required');
    const invokedBy = callerKeyId(req);
    const { call } = await deps.scheduler.invoke(body.funcName, body.params ?? null, { ...(invokedBy ? { invokedBy } : {}), requestId: requestId(req, res) });
    res.status(202).json({ callNum: call.callNum, id: call.id, status: call.status });
  });

  r.get('/runtimes', async (_req, res) => {
    res.json((await deps.db.call('listRuntimes', {})).map((rt) => rt.name));
  });

  r.get('/functions', async (_req, res) => {
    res.json((await deps.db.call('listFunctions', {})).map((f) => f.name));
  });

  r.get('/calls', async (_req, res) => {
    const page = await deps.db.call('listCalls', { limit: LEGACY_CALLS_LIMIT });
    const byNum: Record<string, ReturnType<typeof legacyCall>> = {};
    for (const c of [...page.calls].reverse()) byNum[`c${c.callNum}`] = legacyCall(c);
    res.json(byNum);
  });

  r.get('/call/:callNum', async (req, res) => {
    const callNum = Number(req.params['callNum']);
    if (!Number.isInteger(callNum) || callNum < 1) throw new BadRequestError('callNum must be a positive integer');
    res.json(legacyCall(await deps.db.call('getCall', { callNum })));
  });

  return r;
}
