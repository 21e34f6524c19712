import type { CallStatus } from '../../../shared/protocol/domain.js';
import { currentNodeOf, type Call } from '../../../shared/protocol/domain.js';
import type { StatsBucket } from '../../../shared/protocol/call-stats.js';
import { endedAt, isEnded, searchText } from '../call-rules.js';
import { SLOTS } from './schema.js';
import type { Tx } from './pg-pool.js';

/** The columns of `ferry_calls` in the order {@link callRow} gives them. */
export const CALL_COLUMNS = 'call_num, id, func_name, status, session_id, group_id, node_id, dead_letter, created_at, ended_at, finish_seq, search, record';

/** What the columns beside a call's record hold: derived from the record alone, on every write. */
export function callRow(call: Call): unknown[] {
  const ended = isEnded(call.status);
  const groupId = call.groupId ?? null;
  return [
    call.callNum,
    call.id,
    call.funcName,
    call.status,
    call.sessionId,
    groupId,
    currentNodeOf(call),
    call.deadLetter === true,
    call.createdAt,
    ended ? endedAt(call) : null,
    ended && groupId !== null ? (call.finishSeq ?? null) : null,
    searchText(call),
    JSON.stringify(call),
  ];
}

/** The count row and stats row a call's changes land in: spread by call number (see SLOTS). */
const slotOf = (call: Call): number => call.callNum % SLOTS;

/**
 * The counts and stats a call's change moves, as two CTEs (`counts`, `stats`) to go in the
 * statement that writes the call, each taking effect only when `cte` (that write) wrote a row:
 * the record, its per-status counts and its stats in one round trip. Rows are taken in one order
 * (status, then slice start) by every writer. Its parameters ({@link movesOf}) follow the
 * statement's first `offset`.
 */
export function countsAndStats(cte: string, offset: number): string {
  const $ = (i: number): string => `$${offset + i}`;
  return `counts AS (
       INSERT INTO ferry_call_counts (status, slot, n)
       SELECT s, ${$(1)}, d FROM unnest(${$(2)}::text[], ${$(3)}::bigint[]) AS u(s, d) WHERE EXISTS (SELECT 1 FROM ${cte})
       ON CONFLICT (status, slot) DO UPDATE SET n = ferry_call_counts.n + excluded.n
     ), stats AS (
       INSERT INTO ferry_stats (t, slot, started, ended, failed, durations)
       SELECT t, ${$(1)}, st, en, fa, du FROM unnest(${$(4)}::bigint[], ${$(5)}::bigint[], ${$(6)}::bigint[], ${$(7)}::bigint[], ${$(8)}::jsonb[]) AS u(t, st, en, fa, du)
       WHERE EXISTS (SELECT 1 FROM ${cte})
       ON CONFLICT (t, slot) DO UPDATE SET
         started = ferry_stats.started + excluded.started,
         ended = ferry_stats.ended + excluded.ended,
         failed = ferry_stats.failed + excluded.failed,
         durations = (
           SELECT coalesce(jsonb_object_agg(k, coalesce((ferry_stats.durations ->> k)::bigint, 0) + coalesce((excluded.durations ->> k)::bigint, 0)), '{}'::jsonb)
           FROM jsonb_object_keys(ferry_stats.durations || excluded.durations) AS k
         )
     )`;
}

/** The parameters of {@link countsAndStats} for a call going from `from` (null: a new call) to `to`, with the stats `changes`. */
export function movesOf(call: Call, from: CallStatus | null, to: CallStatus, changes: StatsBucket[]): unknown[] {
  const deltas = new Map<string, number>();
  if (from !== to) {
    if (from !== null) deltas.set(from, -1);
    deltas.set(to, 1);
  }
  const counts = [...deltas.entries()].sort(([a], [b]) => a.localeCompare(b));
  const stats = [...changes].sort((a, b) => a.t - b.t);
  return [
    slotOf(call),
    counts.map(([status]) => status),
    counts.map(([, n]) => n),
    stats.map((s) => s.t),
    stats.map((s) => s.started),
    stats.map((s) => s.ended),
    stats.map((s) => s.failed),
    stats.map((s) => JSON.stringify(s.durations)),
  ];
}

/** Takes the removed `calls` out of the per-status counts, in one statement (rows in the one order writers use). */
export async function dropFromCounts(tx: Tx, calls: Call[]): Promise<void> {
  const deltas = new Map<string, { status: string; slot: number; n: number }>();
  for (const call of calls) {
    const key = `${call.status}\u0000${slotOf(call)}`;
    const row = deltas.get(key) ?? { status: call.status, slot: slotOf(call), n: 0 };
    row.n -= 1;
    deltas.set(key, row);
  }
  const rows = [...deltas.values()].sort((a, b) => a.status.localeCompare(b.status) || a.slot - b.slot);
  if (rows.length === 0) return;
  await tx.query(
    `UPDATE ferry_call_counts AS c SET n = c.n + u.d
     FROM unnest($1::text[], $2::int[], $3::bigint[]) AS u(s, sl, d)
     WHERE c.status = u.s AND c.slot = u.sl`,
    [rows.map((r) => r.status), rows.map((r) => r.slot), rows.map((r) => r.n)],
  );
}
