import type { IncomingMessage, ServerResponse } from 'node:http';
import { isRequestId, newRequestId } from '../../../shared/protocol/request-id.js';

const ids = new WeakMap<IncomingMessage, string>();

/**
 * The request's id, set on the response's `x-request-id` too: the caller's `x-request-id` when it
 * is a good one (see `shared/protocol/request-id.ts`), else a new one — a bad id is replaced, not
 * refused, so a caller's odd tracing header never costs it the request. The same id again for a
 * request asked twice (the app's middleware, then its route).
 */
export function requestId(req: IncomingMessage, res: ServerResponse): string {
  const known = ids.get(req);
  if (known !== undefined) return known;
  const given = req.headers['x-request-id'];
  const first = Array.isArray(given) ? given[0] : given;
  const id = first !== undefined && isRequestId(first) ? first : newRequestId();
  ids.set(req, id);
  res.setHeader('x-request-id', id);
  return id;
}

