import { Router, type Request } from 'express';
import { z } from 'zod';
import { groupCursorSchema } from '../../../shared/protocol/group.js';
import type { Batches } from '../groups/batches.js';
import { askerOf } from './asker.js';
import { parse } from './parse.js';

const batchBody = z
  .object({
    worker: z.string().min(1),
    combiner: z.string().min(1),
    startIndex: z.number().int().min(0),
    endIndex: z.number().int().min(1),
    batchSize: z.number().int().min(1),
    maxParallelism: z.number().int().min(1).max(1000),
    // At most 7 days: the deadline is a timer, and a timer past 2^31 ms would fire at once.
    timeoutSecs: z.number().int().min(1).max(604_800),
    params: z.unknown().optional(),
    resultTtlSecs: z.number().int().min(1).optional(),
    toleratedFailures: z.union([z.number().int().min(0), z.string().regex(/^\d{1,3}(\.\d+)?%$/, 'must be a count or a percentage like "10%"')]).optional(),
  })
  .strict()
  .refine((b) => b.endIndex > b.startIndex, { message: 'endIndex must be past startIndex' });

const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  cursor: groupCursorSchema.optional(),
});

const resultsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().regex(/^\d{1,16}$/, 'must be the nextCursor of a previous page').optional(),
});

const param = (req: Request, name: string): string => String(req.params[name]);

/** Batch jobs (burst-compute), mounted under /v1. */
export function batchesRoutes(batches: Batches): Router {
  const r = Router();

  r.post('/batches', async (req, res) => {
    const body = parse(batchBody, req.body, 'body');
    const group = await batches.start(body, askerOf(req, res));
    res.status(201).location(`/v1/batches/${group.id}`).json({ id: group.id, numBatches: group.total });
  });
  r.get('/batches', async (req, res) => {
    const { limit, cursor } = parse(listQuery, req.query, 'query');
    res.json(await batches.list(limit, cursor));
  });
  r.get('/batches/:id', async (req, res) => {
    res.json(await batches.view(param(req, 'id')));
  });
  r.get('/batches/:id/results', async (req, res) => {
    const { limit, cursor } = parse(resultsQuery, req.query, 'query');
    res.json(await batches.results(param(req, 'id'), limit, cursor));
  });
  r.post('/batches/:id/cancel', async (req, res) => {
    res.json(await batches.cancel(param(req, 'id')));
  });

  return r;
}
