import { z } from 'zod';
import { nameSchema } from '../../../shared/protocol/domain.js';
import { callView } from './call-view.js';
import type { ApiDeps } from './deps.js';
import { parse } from './parse.js';

const invokeQuery = z.object({
  wait: z.enum(['true', 'false', '1', '0']).optional(),
  timeoutMs: z.coerce.number().int().min(1).optional(),
  sessionId: nameSchema.optional(),
});

export interface InvokeAnswer {
  status: 200 | 202;
  body: unknown;
  location?: string;
}

/**
 * `POST /v1/functions/:name[@version]/invoke`: the body is the params. Async by default (202 +
 * id); `?wait=true` answers with the finished call, or 202 + id if it is still running when the
 * function's timeout (or the `timeoutMs` asked for) is up. Throws the scheduler's typed errors.
 */
export async function invokeFunction(deps: ApiDeps, ref: string, query: unknown, params: unknown): Promise<InvokeAnswer> {
  const q = parse(invokeQuery, query, 'query');
  const wait = q.wait === 'true' || q.wait === '1';
  const { call, ended } = await deps.scheduler.invoke(ref, params ?? null, {
    ...(q.sessionId ? { sessionId: q.sessionId } : {}),
    ...(wait ? { wait: { maxMs: q.timeoutMs ?? Number.MAX_SAFE_INTEGER } } : {}),
  });
  const finished = ended ? await ended : null;
  if (finished) return { status: 200, body: callView(finished) };
  return { status: 202, location: `/v1/calls/${call.id}`, body: { id: call.id, callNum: call.callNum, status: call.status } };
}
