import { NotFoundError } from '../../../shared/errors.js';
import { FAILED_STATUSES, type StatsBucket } from '../../../shared/protocol/call-stats.js';
import type { CallPage, DbParsedContent, DbReplyContent } from '../../../shared/protocol/db-messages.js';
import { CallStatus, type Call } from '../../../shared/protocol/domain.js';
import { matchesAll, namedBy, newCall, updatedCall, withDefaults } from '../call-rules.js';
import { checkParams, idempotencyRecord, isLive, type IdempotencyRecord } from '../idempotency-rules.js';
import type { KeyedLock } from '../keyed-lock.js';
import { addStats, emptySlice, sliceStart, statsChanges } from '../stats-rules.js';
import { CALL_COLUMNS, callRow, countsAndStats, movesOf } from './call-rows.js';
import { followGroupIn } from './pg-groups.js';
import { firstOf, inTx, prepared, run, type Db, type Tx } from './pg-pool.js';

type CallRef = { id: string } | { callNum: number };

/** Raised inside a create's transaction when another daemon stored the same id first: nothing of it is kept. */
class MadeElsewhere extends Error {}

const placeholders = (n: number): string => Array.from({ length: n }, (_, i) => `$${i + 1}`).join(', ');
/** The record with its counts and stats, in one statement; `made` is 0 when the id was taken meanwhile. */
const INSERT_CALL = prepared(
  `WITH c AS (INSERT INTO ferry_calls (${CALL_COLUMNS}) VALUES (${placeholders(13)}) ON CONFLICT (id) DO NOTHING RETURNING 1), ${countsAndStats('c', 13)} SELECT count(*)::int AS made FROM c`,
);
const UPDATE_CALL = prepared(
  `WITH c AS (UPDATE ferry_calls SET (${CALL_COLUMNS}) = (${placeholders(13)}) WHERE id = $2 RETURNING 1), ${countsAndStats('c', 13)} SELECT count(*)::int AS made FROM c`,
);
const NEXT_NUM = prepared("SELECT nextval('ferry_call_num') AS n");
const LOAD = prepared('SELECT record FROM ferry_calls WHERE id = $1');
const LOAD_FOR_UPDATE = prepared('SELECT record FROM ferry_calls WHERE id = $1 FOR UPDATE');

/** `%` and `_` mean themselves in a search. */
const likeEscaped = (text: string): string => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * The call store in PostgreSQL. Every change of a call is one transaction: the record with the
 * columns its filters read, its group's counts and finish sequence, the per-status counts and the
 * stats slices. Updates are compare-and-set under the row's lock, so a stale writer loses whichever
 * daemon it writes through.
 */
export class PgCalls {
  constructor(
    private readonly db: Db,
    /** Writes of one call in this daemon, in order; reads wait for those that arrived before them. */
    private readonly lock: KeyedLock,
    /** Call numbers one text search looks at, at most (the page then says where to go on). */
    private readonly scanMax: number,
  ) {}

  create(spec: DbParsedContent['createCall']): Promise<DbReplyContent['createCall']> {
    return this.lock.run(spec.id, async () => {
      try {
        return await inTx(this.db, (tx) => this.createIn(tx, spec));
      } catch (err) {
        if (err instanceof MadeElsewhere) return this.get({ id: spec.id });
        throw err;
      }
    });
  }

  private async createIn(tx: Tx, spec: DbParsedContent['createCall']): Promise<DbReplyContent['createCall']> {
    const existing = await this.load(tx, spec.id);
    if (existing) return existing;
    const now = Date.now();
    const idem = spec.idempotency;
    if (idem !== undefined) {
      const mine = idempotencyRecord(spec.funcName, idem, spec.id, now);
      const claimed = await tx.query(
        'INSERT INTO ferry_idempotency (func_name, key, call_id, expires_at, record) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
        [mine.funcName, mine.key, mine.callId, mine.expiresAt, JSON.stringify(mine)],
      );
      if (claimed.rowCount === 0) {
        const rec = await firstOf<IdempotencyRecord>(tx, 'record', 'SELECT record FROM ferry_idempotency WHERE func_name = $1 AND key = $2 FOR UPDATE', [spec.funcName, idem.key]);
        // A live key whose call is gone (retention removes both together) is taken over.
        const earlier = rec && isLive(rec, now) ? await this.load(tx, rec.callId) : undefined;
        if (rec && earlier) {
          checkParams(rec, idem.paramsHash);
          return { ...earlier, replayed: true };
        }
        await tx.query('UPDATE ferry_idempotency SET call_id = $3, expires_at = $4, record = $5 WHERE func_name = $1 AND key = $2', [
          mine.funcName,
          mine.key,
          mine.callId,
          mine.expiresAt,
          JSON.stringify(mine),
        ]);
      }
    }
    // Taken only for a call made: a resent or replayed create uses no number.
    const callNum = (await firstOf<number>(tx, 'n', NEXT_NUM)) ?? 0;
    const call = newCall(spec, callNum, now, now);
    // First: a call naming a group that does not exist fails here, before anything is written.
    await followGroupIn(tx, null, call);
    const inserted = await firstOf<number>(tx, 'made', INSERT_CALL, [...callRow(call), ...movesOf(call, null, call.status, statsChanges(null, call))]);
    if (inserted === 0) throw new MadeElsewhere();
    return call;
  }

  update(req: DbParsedContent['updateCall']): Promise<Call> {
    return this.lock.run(req.id, () =>
      inTx(this.db, async (tx) => {
        const current = await this.load(tx, req.id, true);
        if (!current) throw new NotFoundError(`call "${req.id}"`);
        const next = updatedCall(current, req, Date.now());
        // First: it stamps (or clears) the call's finish sequence, which the record carries.
        await followGroupIn(tx, current, next);
        await run(tx, UPDATE_CALL, [...callRow(next), ...movesOf(next, current.status, next.status, statsChanges(current, next))]);
        return next;
      }),
    );
  }

  /** A call as of every write that reached this daemon before the read (see the LevelDB store's read). */
  async read(ref: CallRef): Promise<Call> {
    const id = 'id' in ref ? ref.id : await firstOf<string>(this.db, 'id', 'SELECT id FROM ferry_calls WHERE call_num = $1', [ref.callNum]);
    if (id !== undefined) await this.lock.idle(id);
    return this.get(ref, id);
  }

  private async get(ref: CallRef, id = 'id' in ref ? ref.id : undefined): Promise<Call> {
    const call = id === undefined ? undefined : await this.load(this.db, id);
    if (!call) throw new NotFoundError('id' in ref ? `call "${ref.id}"` : `call number ${ref.callNum}`);
    return call;
  }

  private async load(q: Tx, id: string, forUpdate = false): Promise<Call | undefined> {
    const call = await firstOf<Call>(q, 'record', forUpdate ? LOAD_FOR_UPDATE : LOAD, [id]);
    return call && withDefaults(call);
  }

  /**
   * Newest first, `limit` at a time, every filter an index (the text a trigram index); the cursor
   * is a callNum as in the LevelDB store. A text search looks at no more than `scanMax` call
   * numbers per page and answers where to go on.
   */
  async list(query: DbParsedContent['listCalls']): Promise<CallPage> {
    await this.lock.idle();
    if (query.q !== undefined) {
      const ref = namedBy(query.q);
      const named = await firstOf<Call>(this.db, 'record', `SELECT record FROM ferry_calls WHERE ${'id' in ref ? 'id' : 'call_num'} = $1`, ['id' in ref ? ref.id : ref.callNum]);
      if (named) return { calls: matchesAll(query, withDefaults(named)) ? [withDefaults(named)] : [], nextCursor: null, scanned: 1 };
    }
    const params: unknown[] = [];
    const p = (value: unknown): string => `$${params.push(value)}`;
    const where: string[] = [];
    if (query.funcName !== undefined) where.push(`func_name = ${p(query.funcName)}`);
    if (query.status !== undefined) where.push(`status = ${p(query.status)}`);
    if (query.sessionId !== undefined) where.push(`session_id = ${p(query.sessionId)}`);
    if (query.groupId !== undefined) where.push(`group_id = ${p(query.groupId)}`);
    if (query.nodeId !== undefined) where.push(`node_id = ${p(query.nodeId)}`);
    if (query.deadLetter !== undefined) where.push(query.deadLetter ? 'dead_letter' : 'NOT dead_letter');
    if (query.from !== undefined) where.push(`created_at >= ${p(query.from)}`);
    if (query.to !== undefined) where.push(`created_at <= ${p(query.to)}`);
    let top = query.cursor === undefined ? Infinity : Number(query.cursor);
    let floor = 0;
    if (query.q !== undefined) {
      if (top === Infinity) top = (await this.lastCallNum()) + 1;
      floor = Math.max(0, top - this.scanMax);
      where.push(`search LIKE ${p(`%${likeEscaped(query.q.toLowerCase())}%`)}`, `call_num >= ${p(floor)}`);
    }
    if (top !== Infinity) where.push(`call_num < ${p(top)}`);
    const { rows } = await this.db.query(
      `SELECT record FROM ferry_calls ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY call_num DESC LIMIT ${p(query.limit + 1)}`,
      params,
    );
    const found = rows.map((row) => withDefaults(row.record as Call));
    const page = found.slice(0, query.limit);
    const last = page[page.length - 1];
    if (found.length > query.limit && last) return { calls: page, nextCursor: String(last.callNum), scanned: found.length };
    // A text search cut short at its bound goes on below the numbers it looked at.
    const nextCursor = query.q !== undefined && floor > 1 ? String(floor) : null;
    return { calls: page, nextCursor, scanned: query.q !== undefined ? top - floor : found.length };
  }

  async lastCallNum(): Promise<number> {
    return (await firstOf<number>(this.db, 'n', 'SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS n FROM ferry_call_num')) ?? 0;
  }

  async callsByStatus(): Promise<Record<CallStatus, number>> {
    const out = Object.fromEntries(Object.values(CallStatus).map((s) => [s, 0])) as Record<CallStatus, number>;
    const { rows } = await this.db.query('SELECT status, sum(n)::bigint AS n FROM ferry_call_counts GROUP BY status');
    for (const row of rows) out[row.status as CallStatus] = row.n as number;
    return out;
  }

  async oldest(): Promise<{ callNum: number; createdAt: number } | null> {
    const { rows } = await this.db.query('SELECT call_num, created_at FROM ferry_calls ORDER BY call_num LIMIT 1');
    const row = rows[0];
    return row ? { callNum: row.call_num as number, createdAt: row.created_at as number } : null;
  }

  /** Stats slices whose start is in [fromMs, toMs), oldest first (each summed over its rows). */
  async slices(fromMs: number, toMs: number): Promise<StatsBucket[]> {
    const { rows } = await this.db.query('SELECT t, started, ended, failed, durations FROM ferry_stats WHERE t >= $1 AND t < $2 ORDER BY t', [sliceStart(fromMs), toMs]);
    const byStart = new Map<number, StatsBucket>();
    for (const row of rows) {
      const t = row.t as number;
      let slice = byStart.get(t);
      if (!slice) byStart.set(t, (slice = emptySlice(t)));
      addStats(slice, { t, started: row.started, ended: row.ended, failed: row.failed, durations: row.durations });
    }
    return [...byStart.values()];
  }

  /** Up to `limit` calls that ended failed, latest end first. */
  async recentFailures(limit: number): Promise<Call[]> {
    if (limit === 0) return [];
    const { rows } = await this.db.query(
      'SELECT record FROM ferry_calls WHERE ended_at IS NOT NULL AND status = ANY($1) ORDER BY ended_at DESC, call_num DESC LIMIT $2',
      [[...FAILED_STATUSES], limit],
    );
    return rows.map((row) => withDefaults(row.record as Call));
  }
}
