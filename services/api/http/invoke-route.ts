import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import { z } from 'zod';
import { BadRequestError, ErrorCode, FerryError } from '../../../shared/errors.js';
import { nameSchema } from '../../../shared/protocol/domain.js';
import { callerKeyId } from '../auth/guard.js';
import { needOfRoute } from '../auth/permissions.js';
import { callView } from './call-view.js';
import type { ApiDeps } from './deps.js';
import { errorReply } from './errors.js';
import { isJson, parseJson, readBodyText, readJsonBody } from './json-body.js';
import { parse } from './parse.js';
import { requestId } from './request-id.js';

/** The route as OpenAPI names it (it is served outside express's router). */
export const INVOKE_ROUTE = 'POST /v1/functions/{name}/invoke';
const INVOKE_PATH = /^\/v1\/functions\/([^/?#]+)\/invoke(?:\?(.*))?$/;
const INVOKE_NEED = needOfRoute(INVOKE_ROUTE);

const flag = z.enum(['true', 'false', '1', '0']).optional();
const invokeQuery = z.object({
  wait: flag,
  /** Stored HELD: runs only once `POST /v1/calls/:id/dispatch` says so. */
  hold: flag,
  timeoutMs: z.coerce.number().int().min(1).optional(),
  sessionId: nameSchema.optional(),
});

/**
 * `POST /v1/functions/:name[@version]/invoke`, the hot route, served here without express (its
 * routing and body parsing cost ~0.15 ms a request on a 2-core machine); the only entry to an
 * invoke over /v1. The body is the params: JSON (an empty JSON body is `{}`), or no body at all
 * (null). Async by default (202 + id); `?wait=true` answers with the finished call, or 202 + id
 * if it is still running when the function's timeout (or the `timeoutMs` asked for) is up;
 * `?hold=true` stores it HELD (202). An `Idempotency-Key` header used before for the function
 * answers 200 with the call it made, as it stands, and `Idempotency-Replayed: true`.
 * Returns false for every other request.
 */
export function invokeRoute(deps: ApiDeps): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const match = req.method === 'POST' ? INVOKE_PATH.exec(req.url ?? '') : null;
    if (!match) return false;
    const id = requestId(req, res);
    invoke(deps, req, match[1]!, match[2] ?? '', id)
      .then((answer) => send(res, answer.status, answer.body, { ...answer.headers, ...(answer.location ? { location: answer.location } : {}) }))
      .catch((err: unknown) => {
        if (!(err instanceof FerryError)) deps.log.error({ err, path: req.url, requestId: id }, 'request failed');
        const ferr = err instanceof FerryError ? err : new FerryError(ErrorCode.INTERNAL, 'internal error');
        deps.refusals.count(ferr.code, { path: INVOKE_ROUTE });
        const reply = errorReply(ferr);
        if (!res.headersSent) send(res, reply.status, reply.body, reply.headers);
      });
    return true;
  };
}

async function invoke(
  deps: ApiDeps,
  req: IncomingMessage,
  rawRef: string,
  rawQuery: string,
  requestId: string,
): Promise<{ status: 200 | 202; body: unknown; location?: string; headers?: Record<string, string> }> {
  await deps.guard.authorize(req, INVOKE_NEED);
  let ref: string;
  try {
    ref = decodeURIComponent(rawRef);
  } catch {
    req.resume();
    throw new BadRequestError('bad function name in the path: not valid percent-encoding');
  }
  const q = parse(invokeQuery, parseQuery(rawQuery), 'query');
  const key = idempotencyKey(req);
  const params = await readParams(req);
  const wait = on(q.wait);
  const invokedBy = callerKeyId(req);
  const { call, ended, replayed } = await deps.scheduler.invoke(ref, params, {
    ...(invokedBy ? { invokedBy } : {}),
    requestId,
    ...(q.sessionId ? { sessionId: q.sessionId } : {}),
    ...(wait ? { wait: { maxMs: q.timeoutMs ?? Number.MAX_SAFE_INTEGER } } : {}),
    ...(on(q.hold) ? { hold: true } : {}),
    ...(key !== undefined ? { idempotencyKey: key } : {}),
  });
  if (replayed) return { status: 200, body: callView(call), headers: { 'idempotency-replayed': 'true' } };
  const finished = ended ? await ended : null;
  if (finished) return { status: 200, body: callView(finished) };
  return { status: 202, location: `/v1/calls/${call.id}`, body: { id: call.id, callNum: call.callNum, status: call.status } };
}

const on = (v: string | undefined): boolean => v === 'true' || v === '1';

/** The `Idempotency-Key` header: 1 to 256 visible characters. */
function idempotencyKey(req: IncomingMessage): string | undefined {
  const raw = req.headers['idempotency-key'];
  const key = Array.isArray(raw) ? raw[0] : raw;
  if (key === undefined) return undefined;
  if (!/^[\x21-\x7e]{1,256}$/.test(key)) throw new BadRequestError('bad Idempotency-Key: 1 to 256 visible ASCII characters');
  return key;
}

/** JSON params; a body sent without a JSON content-type (curl's `-d`) is taken if it is JSON. */
async function readParams(req: IncomingMessage): Promise<unknown> {
  if (isJson(req)) return readJsonBody(req);
  const text = await readBodyText(req);
  if (text.length === 0) return null;
  return parseJson(text, 'the params must be a JSON body (content-type: application/json)');
}

function send(res: ServerResponse, status: number, body: unknown, extra: Record<string, string>): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { ...extra, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}
