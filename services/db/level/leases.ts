import type { DbParsedContent, Lease } from '../../../shared/protocol/db-messages.js';
import { keys } from './keys.js';
import type { Store } from './store.js';

interface StoredLease {
  holder: string;
  epoch: number;
  expiresAt: number;
  info: Record<string, string>;
}

/**
 * Leases in LevelDB, by this daemon's clock. The LevelDB store serves one api, so a lease here
 * is always granted at once; kept for the same answers (and epochs) as the shared store's.
 */
export class Leases {
  constructor(private readonly store: Store) {}

  take({ name, holder, ttlMs, info }: DbParsedContent['takeLease']): Promise<Lease> {
    return this.store.lock.run(keys.lease(name), async () => {
      const now = Date.now();
      const current = await this.store.get<StoredLease>(keys.lease(name));
      if (current && current.holder !== holder && current.expiresAt > now) {
        return { name, holder: current.holder, epoch: current.epoch, expiresInMs: current.expiresAt - now, info: current.info, mine: false };
      }
      const epoch = current === undefined ? 1 : current.holder === holder ? current.epoch : current.epoch + 1;
      const taken: StoredLease = { holder, epoch, expiresAt: now + ttlMs, info };
      await this.store.write([{ type: 'put', key: keys.lease(name), value: taken }]);
      return { name, holder, epoch, expiresInMs: ttlMs, info, mine: true };
    });
  }

  drop({ name, holder }: DbParsedContent['dropLease']): Promise<{ dropped: boolean }> {
    return this.store.lock.run(keys.lease(name), async () => {
      const current = await this.store.get<StoredLease>(keys.lease(name));
      if (!current || current.holder !== holder) return { dropped: false };
      await this.store.write([{ type: 'put', key: keys.lease(name), value: { ...current, expiresAt: 0 } }]);
      return { dropped: true };
    });
  }
}
