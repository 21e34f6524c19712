import { Router, type Request } from 'express';
import { z } from 'zod';
import type { GroupResultPageReply } from '../../../shared/protocol/db-messages.js';
import { groupCursorSchema } from '../../../shared/protocol/group.js';
import { MAX_APPEND, type Sessions } from '../groups/sessions.js';
import { askerOf } from './asker.js';
import { requestId } from './request-id.js';
import { callView } from './call-view.js';
import { parse } from './parse.js';

const appendBody = z
  .array(
    z
      .object({
        /** `name` (its latest version) or `name@version`. */
        function: z.string().min(1).max(160),
        params: z.unknown().optional(),
      })
      .strict(),
  )
  .min(1)
  .max(MAX_APPEND);

const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  cursor: groupCursorSchema.optional(),
});

const pageParam = z.object({ page: z.coerce.number().int().min(1) });

const param = (req: Request, name: string): string => String(req.params[name]);

/** A page as the routes show it: its calls as /v1/calls shows them. */
const pageView = (page: GroupResultPageReply) => ({ ...page, calls: page.calls.map(callView) });

/** Sessions (FOQUS), mounted under /v1. */
export function sessionsRoutes(sessions: Sessions): Router {
  const r = Router();

  r.post('/sessions', async (req, res) => {
    const session = await sessions.create(askerOf(req, res));
    res.status(201).location(`/v1/sessions/${session.id}`).json({ id: session.id });
  });
  r.get('/sessions', async (req, res) => {
    const { limit, cursor } = parse(listQuery, req.query, 'query');
    res.json(await sessions.list(limit, cursor));
  });
  r.get('/sessions/:id', async (req, res) => {
    res.json(await sessions.view(param(req, 'id')));
  });
  r.post('/sessions/:id/calls', async (req, res) => {
    const items = parse(appendBody, req.body, 'body');
    res.status(201).json({ ids: await sessions.append(param(req, 'id'), items, requestId(req, res)) });
  });
  r.post('/sessions/:id/start', async (req, res) => {
    res.json(await sessions.start(param(req, 'id')));
  });
  r.post('/sessions/:id/kill', async (req, res) => {
    res.json(await sessions.kill(param(req, 'id')));
  });
  r.post('/sessions/:id/results', async (req, res) => {
    const page = await sessions.nextResults(param(req, 'id'));
    // Nothing ended since the last page: no page is made (an empty one would only be noise).
    res.json(page === null ? { page: null, calls: [] } : pageView(page));
  });
  r.get('/sessions/:id/results/:page', async (req, res) => {
    const { page } = parse(pageParam, req.params, 'page');
    res.json(pageView(await sessions.results(param(req, 'id'), page)));
  });

  return r;
}
