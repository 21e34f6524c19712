import { Router, type Request } from 'express';
import { z } from 'zod';
import { groupCursorSchema } from '../../../shared/protocol/group.js';
import { MAX_RUN_TIMES, type Runs } from '../groups/runs.js';
import { askerOf } from './asker.js';
import { parse } from './parse.js';

const runBody = z
  .object({
    /** How many calls of the function the run makes. */
    times: z.number().int().min(1).max(MAX_RUN_TIMES),
    /** The params every call gets. */
    params: z.unknown().optional(),
  })
  .strict();

const runsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  cursor: groupCursorSchema.optional(),
});

const detailsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  cursor: z.string().regex(/^\d{1,16}$/, 'must be the nextCursor of a previous page').optional(),
});

const detailIdParam = z.object({ detailId: z.coerce.number().int().min(1) });

const param = (req: Request, name: string): string => String(req.params[name]);

/** Runs of N (Stevedore), mounted under /v1. */
export function runsRoutes(runs: Runs): Router {
  const r = Router();

  r.post('/functions/:name/runs', async (req, res) => {
    const { times, params } = parse(runBody, req.body, 'body');
    const run = await runs.start(param(req, 'name'), times, params, askerOf(req, res));
    res.status(201).location(`/v1/runs/${run.id}`).json({ id: run.id });
  });
  r.get('/runs', async (req, res) => {
    const { limit, cursor } = parse(runsQuery, req.query, 'query');
    res.json(await runs.list(limit, cursor));
  });
  r.get('/runs/:id', async (req, res) => {
    res.json(await runs.view(param(req, 'id')));
  });
  r.get('/runs/:id/details', async (req, res) => {
    const { limit, cursor } = parse(detailsQuery, req.query, 'query');
    res.json(await runs.details(param(req, 'id'), limit, cursor));
  });
  r.get('/runs/:id/details/:detailId', async (req, res) => {
    const { detailId } = parse(detailIdParam, req.params, 'detail id');
    res.json(await runs.detail(param(req, 'id'), detailId));
  });
  r.post('/runs/:id/cancel', async (req, res) => {
    res.json(await runs.cancel(param(req, 'id')));
  });

  return r;
}
