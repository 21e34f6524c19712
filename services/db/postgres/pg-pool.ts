import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '../../../shared/logger.js';

/** PostgreSQL's codes for a transaction that lost to another and may simply run again. */
const RETRYABLE = new Set(['40001', '40P01']);
/** Runs of a transaction that keeps losing before its error is answered. */
const TRIES = 8;

const INT8_OID = 20;
/** Counts and call numbers are bigint columns; every one Ferry stores fits a double. */
const types = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format),
};

/** Hears of each transaction committed: its statements and seconds (the db daemon's write metrics). */
export type TxObserver = (statements: number, seconds: number) => void;
const observers = new WeakMap<pg.Pool, TxObserver>();

export type Query = pg.PoolClient['query'];
export type Db = pg.Pool;
/** A transaction's connection, as the stores use it: its queries. */
export type Tx = Pick<pg.PoolClient, 'query'>;

/**
 * A pool of connections to the store's database. `sync` false commits without waiting for the
 * WAL flush (like LevelDB without fsync: a killed daemon loses nothing, a lost host may lose the
 * last moments).
 */
export function openPool(url: string, options: { sync: boolean; size: number; onTx?: TxObserver }, log: Logger): Db {
  const pool = new pg.Pool({ connectionString: url, max: options.size, types, application_name: 'ferry-db' });
  if (options.onTx) observers.set(pool, options.onTx);
  pool.on('error', (err) => log.warn({ err }, 'idle PostgreSQL connection failed'));
  if (!options.sync) pool.on('connect', (client) => void client.query('SET synchronous_commit = off').catch(() => undefined));
  return pool;
}

/**
 * Runs `work` in one transaction and answers what it answers; runs it again when PostgreSQL
 * chose it as a deadlock's or a serialization's loser (nothing of it was kept).
 */
export async function inTx<T>(db: Db, work: (tx: Tx) => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries += 1) {
    const tx = await db.connect();
    const started = performance.now();
    let statements = 0;
    const counted = {
      query: (...args: unknown[]) => {
        statements += 1;
        return (tx.query as (...a: unknown[]) => unknown).apply(tx, args);
      },
    } as Tx;
    try {
      await tx.query('BEGIN');
      const out = await work(counted);
      await tx.query('COMMIT');
      observers.get(db)?.(statements, (performance.now() - started) / 1000);
      return out;
    } catch (err) {
      await tx.query('ROLLBACK').catch(() => undefined);
      if (tries >= TRIES || !RETRYABLE.has((err as { code?: string }).code ?? '')) throw err;
    } finally {
      tx.release();
    }
  }
}

/** A statement PostgreSQL plans once per connection (named by its text): for those every call runs. */
export interface Prepared {
  name: string;
  text: string;
}

export function prepared(text: string): Prepared {
  return { name: `ferry_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`, text };
}

/** Runs `sql` (a text, or a {@link prepared} statement) with `params`. */
export function run(q: Tx, sql: string | Prepared, params: unknown[] = []): Promise<pg.QueryResult> {
  return typeof sql === 'string' ? q.query(sql, params) : q.query({ ...sql, values: params });
}

/** The first row's `column`, or undefined when there is no row. */
export async function firstOf<T>(q: Tx, column: string, sql: string | Prepared, params: unknown[] = []): Promise<T | undefined> {
  const { rows } = await run(q, sql, params);
  return rows[0]?.[column] as T | undefined;
}

/** Every row's `column`. */
export async function columnOf<T>(q: Tx, column: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const { rows } = await q.query(sql, params);
  return rows.map((row) => row[column] as T);
}
