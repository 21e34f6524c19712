import { ConflictError, NotFoundError } from '../../../shared/errors.js';
import { keyView, Role, type ApiKeyRecord, type ApiKeyView } from '../../../shared/protocol/api-key.js';
import type { DbParsedContent } from '../../../shared/protocol/db-messages.js';
import { columnOf, firstOf, inTx, type Db } from './pg-pool.js';

/** "The first key, only if there is none" must hold across daemons: its own lock. */
const KEYS_LOCK = 0x66657274;

/** API keys (hashes, roles, lives) in PostgreSQL (see the LevelDB store's ApiKeys). */
export class PgApiKeys {
  constructor(private readonly db: Db) {}

  async create(spec: DbParsedContent['createApiKey']): Promise<ApiKeyView> {
    const rec: ApiKeyRecord = { ...spec, createdAt: Date.now(), revokedAt: null };
    const { rowCount } = await this.db.query('INSERT INTO ferry_api_keys (key_id, record) VALUES ($1, $2) ON CONFLICT DO NOTHING', [rec.keyId, JSON.stringify(rec)]);
    if (rowCount === 0) throw new ConflictError(`API key id "${spec.keyId}" is taken`);
    return keyView(rec);
  }

  async get(keyId: string): Promise<ApiKeyRecord> {
    const rec = await firstOf<ApiKeyRecord>(this.db, 'record', 'SELECT record FROM ferry_api_keys WHERE key_id = $1', [keyId]);
    if (!rec) throw new NotFoundError(`API key "${keyId}"`);
    return rec;
  }

  async list(): Promise<ApiKeyView[]> {
    const all = await columnOf<ApiKeyRecord>(this.db, 'record', 'SELECT record FROM ferry_api_keys');
    return all.map(keyView).sort((a, b) => a.createdAt - b.createdAt);
  }

  /** Revoking a revoked key answers it unchanged (the first revocation time stays). */
  revoke(keyId: string): Promise<ApiKeyView> {
    return inTx(this.db, async (tx) => {
      const rec = await firstOf<ApiKeyRecord>(tx, 'record', 'SELECT record FROM ferry_api_keys WHERE key_id = $1 FOR UPDATE', [keyId]);
      if (!rec) throw new NotFoundError(`API key "${keyId}"`);
      if (rec.revokedAt !== null) return keyView(rec);
      const revoked = { ...rec, revokedAt: Date.now() };
      await tx.query('UPDATE ferry_api_keys SET record = $2 WHERE key_id = $1', [keyId, JSON.stringify(revoked)]);
      return keyView(revoked);
    });
  }

  /** Stores the admin key given when the store holds no key; else stores nothing (`key` null). */
  bootstrapAdmin(spec: DbParsedContent['bootstrapAdminKey']): Promise<{ key: ApiKeyView | null }> {
    return inTx(this.db, async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [KEYS_LOCK]);
      if ((await tx.query('SELECT 1 FROM ferry_api_keys LIMIT 1')).rowCount !== 0) return { key: null };
      const rec: ApiKeyRecord = { ...spec, role: Role.admin, createdAt: Date.now(), expiresAt: null, revokedAt: null, createdBy: null };
      await tx.query('INSERT INTO ferry_api_keys (key_id, record) VALUES ($1, $2)', [rec.keyId, JSON.stringify(rec)]);
      return { key: keyView(rec) };
    });
  }
}
