import { Router } from 'express';
import { z } from 'zod';
import { BadRequestError, NotFoundError } from '../../../shared/errors.js';
import { keyIdSchema, keyNameSchema, newApiKey, roleSchema, type Whoami } from '../../../shared/protocol/api-key.js';
import { principalOf } from '../auth/guard.js';
import type { ApiDeps } from './deps.js';
import { parse } from './parse.js';

/** The longest life a key may be given: ten years. */
const MAX_LIFE_SECS = 10 * 365 * 24 * 3600;

const createBody = z
  .object({
    role: roleSchema,
    name: keyNameSchema.optional(),
    /** It stops working this many seconds from now. */
    expiresInSecs: z.number().int().min(1).max(MAX_LIFE_SECS).optional(),
    /** It stops working at this time: epoch ms, or an ISO 8601 date. */
    expiresAt: z.union([z.number().int().min(0), z.iso.datetime({ offset: true }).transform((t) => Date.parse(t))]).optional(),
  })
  .strict()
  .refine((b) => b.expiresInSecs === undefined || b.expiresAt === undefined, { message: 'give expiresInSecs or expiresAt, not both' });

/** `/v1/keys` (admin) and `/v1/whoami` (any key): API keys, shown without their secrets. */
export function keysRoutes(deps: ApiDeps): Router {
  const r = Router();

  r.get('/whoami', (req, res) => {
    const p = principalOf(req);
    // With auth off no key is asked for, so none is known.
    const who: Whoami = p ? { keyId: p.keyId, name: p.name, role: p.role, auth: 'on' } : { keyId: null, name: null, role: null, auth: 'off' };
    res.json(who);
  });

  r.get('/keys', async (_req, res) => {
    res.json({ keys: await deps.db.call('listApiKeys', {}) });
  });

  r.post('/keys', async (req, res) => {
    const body = parse(createBody, req.body, 'body');
    const now = Date.now();
    const expiresAt = body.expiresAt ?? (body.expiresInSecs !== undefined ? now + body.expiresInSecs * 1000 : null);
    if (expiresAt !== null && expiresAt <= now) throw new BadRequestError('bad body: expiresAt is not in the future');
    const { keyId, key, hash } = newApiKey();
    const view = await deps.db.call('createApiKey', {
      keyId,
      hash,
      role: body.role,
      name: body.name ?? null,
      expiresAt,
      createdBy: principalOf(req)?.keyId ?? null,
    });
    deps.log.info({ keyId, role: view.role, createdBy: view.createdBy }, 'API key created');
    // The only time the key is ever shown: the store keeps its hash alone.
    res.status(201).json({ ...view, key });
  });

  r.delete('/keys/:id', async (req, res) => {
    const id = String(req.params['id']);
    if (!keyIdSchema.safeParse(id).success) throw new NotFoundError(`API key "${id.slice(0, 80)}"`);
    const view = await deps.db.call('revokeApiKey', { keyId: id });
    // Here at once; every other api within a second (its cache's trust).
    deps.guard.keys.forget(id);
    deps.log.info({ keyId: id, by: principalOf(req)?.keyId }, 'API key revoked');
    res.json(view);
  });

  return r;
}
