import type { IncomingMessage, ServerResponse } from 'node:http';
import { callerKeyId } from '../auth/guard.js';
import type { Asker } from '../groups/group-lookup.js';
import { requestId } from './request-id.js';

/** Who a request asks as: its API key (none when auth is off) and its request id. */
export function askerOf(req: IncomingMessage, res: ServerResponse): Asker {
  return { keyId: callerKeyId(req), requestId: requestId(req, res) };
}
