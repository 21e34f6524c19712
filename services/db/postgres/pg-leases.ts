import type { DbParsedContent, Lease } from '../../../shared/protocol/db-messages.js';
import type { Db } from './pg-pool.js';

/** The database's clock in epoch ms: every daemon's lease is timed by the one clock they share. */
const NOW = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

/**
 * Leases in PostgreSQL: one statement takes a lease that is free, expired or the asker's own,
 * under the row's lock, so two daemons asking at once never both get it.
 */
export class PgLeases {
  constructor(private readonly db: Db) {}

  async take({ name, holder, ttlMs, info }: DbParsedContent['takeLease']): Promise<Lease> {
    const taken = await this.db.query(
      `INSERT INTO ferry_leases AS l (name, holder, epoch, expires_at, info) VALUES ($1, $2, 1, ${NOW} + $3, $4)
       ON CONFLICT (name) DO UPDATE SET
         holder = excluded.holder,
         epoch = CASE WHEN l.holder = excluded.holder THEN l.epoch ELSE l.epoch + 1 END,
         expires_at = excluded.expires_at,
         info = excluded.info
       WHERE l.holder = excluded.holder OR l.expires_at <= ${NOW}
       RETURNING epoch`,
      [name, holder, ttlMs, JSON.stringify(info)],
    );
    const row = taken.rows[0];
    if (row) return { name, holder, epoch: row.epoch as number, expiresInMs: ttlMs, info, mine: true };
    const { rows } = await this.db.query(`SELECT holder, epoch, greatest(expires_at - ${NOW}, 0) AS left_ms, info FROM ferry_leases WHERE name = $1`, [name]);
    const current = rows[0];
    // Gone between the two statements (never removed, so only in theory): free to ask again.
    if (!current) return this.take({ name, holder, ttlMs, info });
    return { name, holder: current.holder, epoch: current.epoch, expiresInMs: current.left_ms, info: current.info, mine: current.holder === holder };
  }

  async drop({ name, holder }: DbParsedContent['dropLease']): Promise<{ dropped: boolean }> {
    const { rowCount } = await this.db.query(`UPDATE ferry_leases SET expires_at = 0 WHERE name = $1 AND holder = $2`, [name, holder]);
    return { dropped: (rowCount ?? 0) > 0 };
  }
}
