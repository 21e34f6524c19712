import { performance } from 'node:perf_hooks';
import { STATS_KEEP_MS } from '../../../shared/protocol/call-stats.js';
import type { Call } from '../../../shared/protocol/domain.js';
import type { PassControl, PassResult } from '../pass-runner.js';
import { sliceStart } from '../stats-rules.js';
import { dropFromCounts } from './call-rows.js';
import { inTx, type Db } from './pg-pool.js';

/**
 * One retention pass over PostgreSQL: expired idempotency keys, then ended calls past the
 * retention (with their keys), then old stats slices, `batch` rows per transaction. Rows are
 * claimed with `FOR UPDATE SKIP LOCKED`, so the passes of several DB daemons on one database
 * share the work instead of waiting on (or removing) the same rows.
 */
export async function pgRetentionPass(db: Db, options: { callRetentionMs: number; batch: number }, control: PassControl): Promise<PassResult> {
  const now = Date.now();
  let removedKeys = 0;
  let removedCalls = 0;
  const batches = async (step: () => Promise<number>): Promise<void> => {
    while (!control.stopped()) {
      const started = performance.now();
      if ((await step()) < options.batch) break;
      await control.rest(started);
    }
  };
  await batches(async () => {
    const { rowCount } = await db.query(
      `DELETE FROM ferry_idempotency WHERE (func_name, key) IN (
         SELECT func_name, key FROM ferry_idempotency WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [now, options.batch],
    );
    removedKeys += rowCount ?? 0;
    return rowCount ?? 0;
  });
  if (options.callRetentionMs > 0) {
    const cutoff = now - options.callRetentionMs;
    await batches(() =>
      inTx(db, async (tx) => {
        const { rows } = await tx.query(
          `DELETE FROM ferry_calls WHERE call_num IN (
             SELECT call_num FROM ferry_calls WHERE ended_at < $1 ORDER BY ended_at LIMIT $2 FOR UPDATE SKIP LOCKED)
           RETURNING id, record`,
          [cutoff, options.batch],
        );
        await dropFromCounts(tx, rows.map((row) => row.record as Call));
        const keys = await tx.query('DELETE FROM ferry_idempotency WHERE call_id = ANY($1)', [rows.map((row) => row.id as string)]);
        removedCalls += rows.length;
        removedKeys += keys.rowCount ?? 0;
        return rows.length;
      }),
    );
  }
  await batches(async () => {
    const { rowCount } = await db.query(
      `DELETE FROM ferry_stats WHERE (t, slot) IN (SELECT t, slot FROM ferry_stats WHERE t < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [sliceStart(now - STATS_KEEP_MS), options.batch],
    );
    return rowCount ?? 0;
  });
  return { removedCalls, removedKeys };
}
