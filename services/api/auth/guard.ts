import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import type { DbClient } from '../../../shared/clients/db-client.js';
import { ErrorCode, FerryError } from '../../../shared/errors.js';
import { keyOfAuthorization } from './credentials.js';
import { KeyCache, unauthenticated, type Principal } from './key-cache.js';
import { ADMIN_ONLY, allows, needOf, PUBLIC, type RouteNeed } from './permissions.js';

/** The key each request being served showed (set once it passed {@link Guard.authorize}). */
const principals = new WeakMap<IncomingMessage, Principal>();

/** The id of the key `req` showed, when auth is on; what calls and groups it makes record. */
export const callerKeyId = (req: IncomingMessage): string | undefined => principals.get(req)?.keyId;

/** The key `req` showed, when auth is on. */
export const principalOf = (req: IncomingMessage): Principal | undefined => principals.get(req);

/**
 * Lets a request through to a route when its API key's role allows what the route needs
 * ({@link needOf}). With auth off every request passes and none has a key.
 */
export class Guard {
  readonly keys: KeyCache;

  constructor(
    readonly enabled: boolean,
    db: DbClient,
  ) {
    this.keys = new KeyCache(db);
  }

  /**
   * Resolves once `req` may go on to a route needing `need`. Throws UNAUTHENTICATED without a
   * valid key, FORBIDDEN when the key's role does not allow it.
   */
  async authorize(req: IncomingMessage, need: RouteNeed): Promise<void> {
    if (!this.enabled || need === PUBLIC) return;
    const key = keyOfAuthorization(req.headers.authorization);
    if (key === null) {
      throw unauthenticated('an API key is needed: send `Authorization: Bearer <key>`, or HTTP Basic with the key as the password (curl -u :<key>)');
    }
    const principal = await this.keys.verify(key);
    if (!allows(principal.role, need)) {
      const needs = need === ADMIN_ONLY ? 'an admin key' : `the "${need}" permission`;
      throw new FerryError(ErrorCode.FORBIDDEN, `API key ${principal.keyId} has role ${principal.role}: this route needs ${needs}`);
    }
    principals.set(req, principal);
  }

  /** The express form: the route's need looked up from the request's method and path. */
  middleware(): RequestHandler {
    return (req, _res, next) => {
      this.authorize(req, needOf(req.method, req.url)).then(() => next(), next);
    };
  }
}
