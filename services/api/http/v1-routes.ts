import { Router, type Request } from 'express';
import { z } from 'zod';
import { NotFoundError } from '../../../shared/errors.js';
import { callStatusSchema, nameSchema, type Call } from '../../../shared/protocol/domain.js';
import { badFunctionName, parseFunctionRef } from '../../../shared/protocol/function-ref.js';
import type { ApiDeps } from './deps.js';
import { streamCallEvents } from './call-event-stream.js';
import { callView } from './call-view.js';
import { streamClusterEvents } from './cluster-event-stream.js';
import { ClusterStats, statsQuery } from './cluster-stats.js';
import { MAX_RETRIED_PER_REQUEST, retryDeadLetters } from './dead-letters.js';
import { bundleUpload, pushFunction } from './function-push.js';
import { functionView } from './function-view.js';
import { parse } from './parse.js';
import { checkTargetFirst, pushEnvOf, pushFields, pushRuntime, retryPolicyOf } from './push-target.js';
import { registerRuntime } from './runtime-register.js';

const epochMs = z.coerce.number().int().min(0, 'must be epoch milliseconds');
const listQuery = z
  .object({
    funcName: nameSchema.optional(),
    status: callStatusSchema.optional(),
    sessionId: nameSchema.optional(),
    nodeId: z.string().min(1).max(64).optional(),
    from: epochMs.optional(),
    to: epochMs.optional(),
    q: z.string().trim().min(1).max(256).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(50),
    cursor: z.string().regex(/^\d{1,16}$/, 'must be the nextCursor of a previous page').optional(),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, { message: 'must not be after to', path: ['from'] });

const eventsQuery = z.object({ funcName: nameSchema.optional() });

const retryQuery = z.object({
  funcName: nameSchema.optional(),
  status: callStatusSchema.optional(),
  sessionId: nameSchema.optional(),
  limit: z.coerce.number().int().min(1).max(MAX_RETRIED_PER_REQUEST).default(MAX_RETRIED_PER_REQUEST),
});

const param = (req: Request, name: string): string => String(req.params[name]);

/** The function name in the path; BAD_REQUEST when it is none. */
function functionName(req: Request): string {
  const bad = badFunctionName(param(req, 'name'));
  if (bad) throw bad;
  return param(req, 'name');
}

/** A call by nanoid, or by callNum when the path segment is all digits. */
async function findCall(deps: ApiDeps, ref: string): Promise<Call> {
  return /^\d+$/.test(ref) ? deps.db.call('getCall', { callNum: Number(ref) }) : deps.db.call('getCall', { id: ref });
}

/** The versioned REST surface under /v1 (documented in /v1/openapi.json). */
export function v1Routes(deps: ApiDeps): Router {
  const r = Router();

  r.get('/runtimes', async (_req, res) => {
    res.json({ runtimes: await deps.db.call('listRuntimes', {}) });
  });
  r.post('/runtimes', async (req, res) => {
    res.status(201).json(await registerRuntime(deps, req.body));
  });
  r.get('/runtimes/:name', async (req, res) => {
    res.json(await deps.db.call('getRuntime', { name: param(req, 'name') }));
  });
  r.delete('/runtimes/:name', async (req, res) => {
    await deps.db.call('deleteRuntime', { name: param(req, 'name') });
    deps.catalog.forgetRuntime(param(req, 'name'));
    res.json({ deleted: true });
  });

  r.get('/functions', async (_req, res) => {
    res.json({ functions: (await deps.db.call('listFunctions', {})).map(functionView) });
  });
  // The name and a `?runtime=` are checked before the body is read; a `runtime` field that comes
  // before the file part, before the file is read.
  const pushTarget = (req: Request): { name: string; runtime: string | undefined } => ({ name: param(req, 'name'), runtime: pushRuntime(req) });
  r.post('/functions/:name', checkTargetFirst(deps, pushTarget), bundleUpload(deps, pushRuntime), async (req, res) => {
    const fields = parse(pushFields, { ...req.body, runtime: pushRuntime(req) }, 'fields');
    const { runtime, timeoutMs, memoryMb, stuckAfterMs } = fields;
    res.status(201).json(
      await pushFunction(deps, {
        name: param(req, 'name'),
        file: req.file,
        runtime,
        retry: retryPolicyOf(fields),
        ...pushEnvOf(fields),
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        ...(memoryMb !== undefined ? { memoryMb } : {}),
        ...(stuckAfterMs !== undefined ? { stuckAfterMs } : {}),
      }),
    );
  });
  r.get('/functions/:name', async (req, res) => {
    res.json(functionView(await deps.db.call('getFunction', parseFunctionRef(param(req, 'name')))));
  });
  r.get('/functions/:name/versions', async (req, res) => {
    res.json({ versions: (await deps.db.call('listFunctionVersions', { name: functionName(req) })).map(functionView) });
  });
  r.delete('/functions/:name', async (req, res) => {
    const out = await deps.db.call('deleteFunction', { name: functionName(req) });
    deps.catalog.forgetFunction(param(req, 'name'));
    res.json(out);
  });

  r.get('/calls', async (req, res) => {
    const page = await deps.db.call('listCalls', parse(listQuery, req.query, 'query'));
    res.json({ ...page, calls: page.calls.map(callView) });
  });
  r.get('/calls/:id', async (req, res) => {
    res.json(callView(await findCall(deps, param(req, 'id'))));
  });
  r.get('/calls/:id/executions', async (req, res) => {
    const call = await findCall(deps, param(req, 'id'));
    res.json({ id: call.id, status: call.status, executions: call.executions ?? [] });
  });
  r.get('/calls/:id/events', async (req, res) => {
    await streamCallEvents(deps, req, res, await findCall(deps, param(req, 'id')));
  });
  r.get('/calls/:id/logs', async (req, res) => {
    const call = await findCall(deps, param(req, 'id'));
    res.json({ id: call.id, status: call.status, stdout: '', stderr: '', log: '', truncated: false, ...call.logs });
  });
  r.post('/calls/:id/cancel', async (req, res) => {
    const call = await findCall(deps, param(req, 'id'));
    res.json(callView(await deps.scheduler.calls.cancel(call.id)));
  });
  r.post('/calls/:id/dispatch', async (req, res) => {
    const call = await findCall(deps, param(req, 'id'));
    res.json(callView(await deps.scheduler.dispatchHeld(call.id)));
  });
  r.post('/calls/:id/retry', async (req, res) => {
    const call = await findCall(deps, param(req, 'id'));
    res.json(callView(await deps.scheduler.calls.retryEnded(call.id)));
  });

  r.get('/dead-letters', async (req, res) => {
    const page = await deps.db.call('listCalls', { ...parse(listQuery, req.query, 'query'), deadLetter: true });
    res.json({ ...page, calls: page.calls.map(callView) });
  });
  r.post('/dead-letters/retry', async (req, res) => {
    const { funcName, status, sessionId, limit } = parse(retryQuery, req.query, 'query');
    const filters = { ...(funcName ? { funcName } : {}), ...(status ? { status } : {}), ...(sessionId ? { sessionId } : {}) };
    res.json({ retried: await retryDeadLetters(deps, filters, limit) });
  });

  r.get('/events', (req, res) => {
    streamClusterEvents(deps, res, parse(eventsQuery, req.query, 'query').funcName);
  });
  const stats = new ClusterStats(deps);
  r.get('/stats', async (req, res) => {
    res.json(await stats.get(parse(statsQuery, req.query, 'query')));
  });

  r.get('/nodes', (_req, res) => {
    res.json({ nodes: deps.scheduler.nodes.list().map((n) => deps.scheduler.nodes.view(n)) });
  });
  r.get('/nodes/:nodeId', (req, res) => {
    const node = deps.scheduler.nodes.get(param(req, 'nodeId'));
    if (!node) throw new NotFoundError(`node "${param(req, 'nodeId')}"`);
    res.json(deps.scheduler.nodes.view(node));
  });

  return r;
}
