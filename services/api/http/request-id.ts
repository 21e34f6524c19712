import type { IncomingMessage, ServerResponse } from 'node:http';
import { nanoid } from 'nanoid';

/** The request's id (the caller's `x-request-id`, else a new one), set on the response too. */
export function requestId(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers['x-request-id'];
  const id = (Array.isArray(given) ? given[0] : given) ?? nanoid(12);
  res.setHeader('x-request-id', id);
  return id;
}
