import type { RefusedCounts } from '../refusals.js';

/** What `GET /healthz` answers: 200 when the db and the registry answer, 503 (`degraded`) else. */
export interface HealthView {
  status: 'ok' | 'degraded';
  db: 'ok' | 'unreachable';
  registry: 'ok' | 'unreachable';
  /** Inputs each daemon refused since it started, by error code (null: it did not answer). */
  refused: { api: RefusedCounts; db: RefusedCounts | null; registry: RefusedCounts | null };
  /** Whether this api schedules (false: it stands by and passes requests to the one that does). */
  scheduling: boolean;
  nodes: number;
  queued: number;
  /** Calls waiting out a retry back-off. */
  backingOff: number;
  running: number;
  /** The oldest call retention keeps (null: the store holds none, or the DB did not answer). */
  oldestCall: { callNum: number; createdAt: number } | null;
}
