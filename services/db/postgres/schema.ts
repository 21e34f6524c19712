import type { Logger } from '../../../shared/logger.js';
import type { Db } from './pg-pool.js';

/**
 * Ferry's tables. A record is kept whole as `json` (its text as written: a user's params and
 * results keep their key order); the columns beside it are what the filters, pages and passes
 * look up, each with its index, derived from the record on every write. Call numbers come from a
 * sequence; per-status counts and per-slice stats are spread over `SLOTS` rows each so concurrent
 * writers rarely wait on one row.
 */
const TABLES = `
CREATE TABLE IF NOT EXISTS ferry_runtimes (
  name text PRIMARY KEY,
  record json NOT NULL
);
CREATE TABLE IF NOT EXISTS ferry_functions (
  name text NOT NULL,
  version integer NOT NULL,
  runtime text NOT NULL,
  record json NOT NULL,
  PRIMARY KEY (name, version)
);
CREATE INDEX IF NOT EXISTS ferry_functions_runtime ON ferry_functions (runtime);
CREATE TABLE IF NOT EXISTS ferry_function_numbers (
  name text PRIMARY KEY,
  last integer NOT NULL
);
CREATE SEQUENCE IF NOT EXISTS ferry_call_num;
CREATE TABLE IF NOT EXISTS ferry_calls (
  call_num bigint PRIMARY KEY,
  id text NOT NULL UNIQUE,
  func_name text NOT NULL,
  status text NOT NULL,
  session_id text,
  group_id text,
  node_id text,
  dead_letter boolean NOT NULL,
  created_at bigint NOT NULL,
  ended_at bigint,
  finish_seq bigint,
  search text NOT NULL,
  record json NOT NULL
);
CREATE INDEX IF NOT EXISTS ferry_calls_fn ON ferry_calls (func_name, call_num);
CREATE INDEX IF NOT EXISTS ferry_calls_status ON ferry_calls (status, call_num);
CREATE INDEX IF NOT EXISTS ferry_calls_session ON ferry_calls (session_id, call_num) WHERE session_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS ferry_calls_group ON ferry_calls (group_id, call_num) WHERE group_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS ferry_calls_group_finish ON ferry_calls (group_id, finish_seq) WHERE finish_seq IS NOT NULL;
CREATE INDEX IF NOT EXISTS ferry_calls_node ON ferry_calls (node_id, call_num) WHERE node_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS ferry_calls_dead ON ferry_calls (call_num) WHERE dead_letter;
CREATE INDEX IF NOT EXISTS ferry_calls_created ON ferry_calls (created_at);
CREATE INDEX IF NOT EXISTS ferry_calls_ended ON ferry_calls (ended_at, call_num) WHERE ended_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS ferry_call_counts (
  status text NOT NULL,
  slot integer NOT NULL,
  n bigint NOT NULL,
  PRIMARY KEY (status, slot)
);
CREATE TABLE IF NOT EXISTS ferry_stats (
  t bigint NOT NULL,
  slot integer NOT NULL,
  started bigint NOT NULL,
  ended bigint NOT NULL,
  failed bigint NOT NULL,
  durations jsonb NOT NULL,
  PRIMARY KEY (t, slot)
);
CREATE TABLE IF NOT EXISTS ferry_idempotency (
  func_name text NOT NULL,
  key text NOT NULL,
  call_id text NOT NULL,
  expires_at bigint NOT NULL,
  record json NOT NULL,
  PRIMARY KEY (func_name, key)
);
CREATE INDEX IF NOT EXISTS ferry_idempotency_expiry ON ferry_idempotency (expires_at);
CREATE INDEX IF NOT EXISTS ferry_idempotency_call ON ferry_idempotency (call_id);
CREATE TABLE IF NOT EXISTS ferry_groups (
  id text PRIMARY KEY,
  kind text NOT NULL,
  created_at bigint NOT NULL,
  being_made boolean NOT NULL,
  record json NOT NULL
);
CREATE INDEX IF NOT EXISTS ferry_groups_time ON ferry_groups (created_at, id);
CREATE INDEX IF NOT EXISTS ferry_groups_kind ON ferry_groups (kind, created_at, id);
CREATE INDEX IF NOT EXISTS ferry_groups_being_made ON ferry_groups (id) WHERE being_made;
CREATE TABLE IF NOT EXISTS ferry_group_pages (
  group_id text NOT NULL,
  page integer NOT NULL,
  record json NOT NULL,
  PRIMARY KEY (group_id, page)
);
CREATE TABLE IF NOT EXISTS ferry_api_keys (
  key_id text PRIMARY KEY,
  record json NOT NULL
);
CREATE TABLE IF NOT EXISTS ferry_leases (
  name text PRIMARY KEY,
  holder text NOT NULL,
  epoch bigint NOT NULL,
  expires_at bigint NOT NULL,
  info json NOT NULL
);
`;

/** Text search's index: trigrams make `LIKE '%text%'` an index lookup (pg_trgm ships with PostgreSQL). */
const SEARCH_INDEX = `
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX IF NOT EXISTS ferry_calls_search ON ferry_calls USING gin (search gin_trgm_ops);
`;

/** Rows each count and stats slice is spread over. */
export const SLOTS = 8;

/** One daemon at a time makes the tables: two starting together would race on CREATE … IF NOT EXISTS. */
const SCHEMA_LOCK = 0x66657272; // "ferr"

/** Makes what is missing of Ferry's tables; answers whether text search has its index. */
export async function ensureSchema(db: Db, log: Logger): Promise<{ searchIndex: boolean }> {
  const client = await db.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [SCHEMA_LOCK]);
    await client.query(TABLES);
    try {
      await client.query(SEARCH_INDEX);
      return { searchIndex: true };
    } catch (err) {
      // A role that may not add extensions still has every other index: searches scan, bounded.
      log.warn({ err }, 'no pg_trgm: text search in calls runs without an index');
      return { searchIndex: false };
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [SCHEMA_LOCK]).catch(() => undefined);
    client.release();
  }
}
