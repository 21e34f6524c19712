import { ConflictError, NotFoundError } from '../../../shared/errors.js';
import { keyView, Role, type ApiKeyRecord, type ApiKeyView } from '../../../shared/protocol/api-key.js';
import type { DbParsedContent } from '../../../shared/protocol/db-messages.js';
import { keys } from './keys.js';
import type { Store } from './store.js';

/** Key writes are rare; one lock makes "the first key, only if there is none" atomic. */
const KEYS = 'api-keys';

/** API keys: their hashes, roles and lives. The keys themselves never reach the DB. */
export class ApiKeys {
  constructor(private readonly store: Store) {}

  create(spec: DbParsedContent['createApiKey']): Promise<ApiKeyView> {
    return this.store.lock.run(KEYS, async () => {
      if (await this.store.get(keys.apiKey(spec.keyId))) throw new ConflictError(`API key id "${spec.keyId}" is taken`);
      return keyView(await this.put({ ...spec, createdAt: Date.now(), revokedAt: null }));
    });
  }

  async get(keyId: string): Promise<ApiKeyRecord> {
    const rec = await this.store.get<ApiKeyRecord>(keys.apiKey(keyId));
    if (!rec) throw new NotFoundError(`API key "${keyId}"`);
    return rec;
  }

  async list(): Promise<ApiKeyView[]> {
    const all = await this.store.values<ApiKeyRecord>(keys.apiKeyPrefix);
    return all.map(keyView).sort((a, b) => a.createdAt - b.createdAt);
  }

  /** Revoking a revoked key answers it unchanged (the first revocation time stays). */
  revoke(keyId: string): Promise<ApiKeyView> {
    return this.store.lock.run(KEYS, async () => {
      const rec = await this.get(keyId);
      return keyView(rec.revokedAt !== null ? rec : await this.put({ ...rec, revokedAt: Date.now() }));
    });
  }

  /** Stores the admin key given when the store holds no key; else stores nothing (`key` null). */
  bootstrapAdmin(spec: DbParsedContent['bootstrapAdminKey']): Promise<{ key: ApiKeyView | null }> {
    return this.store.lock.run(KEYS, async () => {
      if ((await this.store.keysUnder(keys.apiKeyPrefix, { limit: 1 })).length > 0) return { key: null };
      const rec = await this.put({ ...spec, role: Role.admin, createdAt: Date.now(), expiresAt: null, revokedAt: null, createdBy: null });
      return { key: keyView(rec) };
    });
  }

  private async put(rec: ApiKeyRecord): Promise<ApiKeyRecord> {
    await this.store.write([{ type: 'put', key: keys.apiKey(rec.keyId), value: rec }]);
    return rec;
  }
}
