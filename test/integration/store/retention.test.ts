import { nanoid } from 'nanoid';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { Call, CallStatus } from '../../../shared/protocol/domain.js';
import { padCallNum } from '../../../services/db/level/keys.js';
import { Store } from '../../../services/db/level/store.js';
import { errorOf, fnName, HOUR, startDb } from '../../helpers/db.js';
import { storesUnderTest } from '../../helpers/stores.js';
import { makeTempDir, waitUntil } from '../../helpers/temp.js';
import { callRecord } from '../../helpers/call-record.js';

/**
 * The DB's retention pass against a real db daemon process on each store; the store is then read
 * directly (daemon stopped) to check nothing is left pointing at removed calls.
 */

/** Keys of the LevelDB in `dir` that still point at one of `removed` (by id or number). */
async function levelLeftovers(dir: string, removed: Call[], retried: Call): Promise<string[]> {
  const store = await Store.open(path.join(dir, 'db'), { sync: false });
  try {
    const removedIds = new Set(removed.map((c) => c.id));
    const removedNums = removed.map((c) => `!${padCallNum(c.callNum)}`);
    const left: string[] = [];
    for await (const [key, value] of store.db.iterator()) {
      const pointsAtRemoved =
        removedIds.has(key.slice(2)) ||
        removedNums.some((n) => key.endsWith(n)) ||
        (typeof value === 'string' && removedIds.has(value)) ||
        (key.startsWith('ik!') && removedIds.has((value as { callId: string }).callId));
      if (pointsAtRemoved) left.push(key);
      if (key.startsWith('ie!')) expect(key.endsWith(`!${padCallNum(retried.callNum)}`), key).toBe(false);
    }
    return left;
  } finally {
    await store.close();
  }
}

/** Rows of the PostgreSQL database at `url` that still name one of `removed`. */
async function postgresLeftovers(url: string, removed: Call[]): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const ids = removed.map((c) => c.id);
    const { rows } = await client.query(
      `SELECT 'call ' || id AS row FROM ferry_calls WHERE id = ANY($1) OR call_num = ANY($2)
       UNION ALL SELECT 'key ' || key FROM ferry_idempotency WHERE call_id = ANY($1)`,
      [ids, removed.map((c) => c.callNum)],
    );
    return rows.map((r) => r.row as string);
  } finally {
    await client.end();
  }
}

describe.each(storesUnderTest())('DB retention pass on $name', (store) => {
  it('removes ended calls past the retention with every index entry and key, keeps the rest, and keeps counters right', async () => {
    const { dir, cleanup } = await makeTempDir();
    const storeEnv = await store.fresh();
    const run = await startDb(dir, { ...storeEnv, FERRY_CALL_RETENTION_MS: '60000' });
    const db = run.db;
    let stopped = false;
    try {
      // The pass that runs at start is over once this one (queued behind it) answers.
      expect(await db.call('purgeExpired', {})).toEqual({ removedCalls: 0, removedKeys: 0 });
      const fn = fnName('ret');
      const session = `s${nanoid(6)}`;
      const create = (extra: { sessionId?: string; hold?: boolean; key?: string } = {}) =>
        db.call('createCall', {
          id: nanoid(),
          funcName: fn,
          version: 1,
          params: { big: 'x'.repeat(100) },
          sessionId: extra.sessionId,
          hold: extra.hold,
          idempotency: extra.key === undefined ? undefined : { key: extra.key, paramsHash: 'h', ttlMs: HOUR },
        });
      const end = (c: Call, status: CallStatus, finishedAt: number, extra: { deadLetter?: boolean } = {}) =>
        db.call('updateCall', {
          id: c.id,
          expect: { status: c.status },
          set: {
            status,
            finishedAt,
            result: 'r',
            logs: { stdout: 'out', stderr: '', truncated: false },
            deadLetter: extra.deadLetter ?? false,
          },
          execution: { attempt: 1, nodeId: 'n1', state: status === 'DONE' ? 'DONE' : 'ERROR', finishedAt },
        });

      const longAgo = Date.now() - HOUR;
      const oldStatuses: CallStatus[] = ['DONE', 'ERROR', 'TIMEOUT', 'KILLED', 'CANCELLED', 'DONE', 'ERROR'];
      const old: Call[] = [];
      for (const [i, status] of oldStatuses.entries()) {
        const c = await create({ sessionId: i % 2 === 0 ? session : undefined, key: i === 1 ? 'old-key' : undefined });
        old.push(await end(c, status, longAgo - i, { deadLetter: i === 6 }));
      }
      const recent = [await end(await create({ sessionId: session }), 'DONE', Date.now()), await end(await create(), 'ERROR', Date.now())];
      const pending = await create({ sessionId: session });
      const held = await create({ hold: true });
      const running = await db.call('updateCall', {
        id: (await create()).id,
        expect: { status: 'PENDING' },
        set: { status: 'RUNNING', startedAt: longAgo },
      });
      // Ended long ago, then retried: it left the ended calls, so it stays.
      const retriedEnded = await end(await create(), 'ERROR', longAgo);
      const retried = await db.call('updateCall', { id: retriedEnded.id, expect: { status: 'ERROR' }, set: { status: 'PENDING' } });
      expect(retried.finishedAt).toBe(longAgo);
      const kept = [...recent, pending, held, running, retried];

      const before = await db.call('getCounters', {});
      expect(before.oldestCall).toEqual({ callNum: old[0]!.callNum, createdAt: old[0]!.createdAt });

      // One pass at a time: the second request waits for a pass after the first, which finds nothing left.
      const [pass, next] = await Promise.all([db.call('purgeExpired', {}), db.call('purgeExpired', {})]);
      expect(pass).toEqual({ removedCalls: old.length, removedKeys: 1 });
      expect(next).toEqual({ removedCalls: 0, removedKeys: 0 });
      await waitUntil(
        () => run.daemon.logs.some((l) => l['msg'] === 'retention pass' && l['removedCalls'] === old.length && typeof l['ms'] === 'number'),
        'the db logged the retention pass',
      );

      for (const c of old) {
        expect((await errorOf(db.call('getCall', { id: c.id }))).code).toBe('NOT_FOUND');
        expect((await errorOf(db.call('getCall', { callNum: c.callNum }))).code).toBe('NOT_FOUND');
      }
      for (const c of kept) expect((await db.call('getCall', { id: c.id })).status).toBe(c.status);
      const ids = (page: { calls: Call[] }): string[] => page.calls.map((c) => c.id).sort();
      const sorted = (calls: Call[]): string[] => calls.map((c) => c.id).sort();
      expect(ids(await db.call('listCalls', { funcName: fn, limit: 100 }))).toEqual(sorted(kept));
      expect(ids(await db.call('listCalls', { sessionId: session, limit: 100 }))).toEqual(sorted([recent[0]!, pending]));
      expect(ids(await db.call('listCalls', { status: 'DONE', limit: 100 }))).toEqual(sorted([recent[0]!]));
      expect(ids(await db.call('listCalls', { status: 'ERROR', limit: 100 }))).toEqual(sorted([recent[1]!]));
      for (const status of ['TIMEOUT', 'KILLED', 'CANCELLED'] as const) {
        expect((await db.call('listCalls', { status, limit: 100 })).calls).toEqual([]);
      }
      expect((await db.call('listCalls', { deadLetter: true, limit: 100 })).calls).toEqual([]);
      expect(ids(await db.call('listCalls', { limit: 100 }))).toEqual(sorted(kept));

      const after = await db.call('getCounters', {});
      for (const status of Object.keys(before.callsByStatus) as CallStatus[]) {
        const removed = oldStatuses.filter((s) => s === status).length;
        expect(after.callsByStatus[status], status).toBe(before.callsByStatus[status] - removed);
      }
      expect(after.lastCallNum).toBe(before.lastCallNum);
      const oldestKept = kept.reduce((a, b) => (a.callNum < b.callNum ? a : b));
      expect(after.oldestCall).toEqual({ callNum: oldestKept.callNum, createdAt: oldestKept.createdAt });

      // The removed call's key went with it: the key makes a new call, whatever the params.
      const reused = await db.call('createCall', { id: nanoid(), funcName: fn, version: 1, idempotency: { key: 'old-key', paramsHash: 'new', ttlMs: HOUR } });
      expect(reused.replayed).toBeUndefined();
      expect(await db.call('purgeExpired', {})).toEqual({ removedCalls: 0, removedKeys: 0 });

      // Nothing in the store still points at a removed call.
      await run.stop();
      stopped = true;
      const left = store.name === 'level' ? await levelLeftovers(dir, old, retried) : await postgresLeftovers(storeEnv.FERRY_STORE!, old);
      expect(left).toEqual([]);
    } finally {
      if (!stopped) await run.stop();
      await cleanup();
    }
  });
});

describe('DB retention pass on level, over records older than their fields', () => {
  it('keeps calls stored before the new fields working, and removes the old ended ones', async () => {
    const { dir, cleanup } = await makeTempDir();
    const longAgo = Date.now() - 30 * 24 * HOUR;
    // Calls as an earlier Ferry stored them: no nextAttemptAt, failures, deadLetter,
    // idempotencyKey, and no ended-by-time index entry.
    const store = await Store.open(path.join(dir, 'db'), { sync: false });
    const legacy = (status: CallStatus, finishedAt: number | null) => {
      const callNum = store.nextCallNum();
      store.countStatus(null, status);
      const call = callRecord({ id: `legacy-${callNum}-${nanoid(6)}`, callNum, funcName: 'legacy', params: null, status, createdAt: longAgo, finishedAt }, { legacy: true });
      const pad = padCallNum(callNum);
      return {
        call,
        ops: [
          { type: 'put' as const, key: `c!${call.id}`, value: call },
          { type: 'put' as const, key: `n!${pad}`, value: call.id },
          { type: 'put' as const, key: `if!legacy!${pad}`, value: call.id },
          { type: 'put' as const, key: `is!${status}!${pad}`, value: call.id },
        ],
      };
    };
    const oldDone = legacy('DONE', longAgo);
    const oldPending = legacy('PENDING', null);
    await store.write([...oldDone.ops, ...oldPending.ops]);
    await store.close();

    const run = await startDb(dir, { FERRY_CALL_RETENTION_MS: String(24 * HOUR) });
    try {
      const db = run.db;
      // Queued behind the pass that ran at start, which already removed the old ended call.
      await db.call('purgeExpired', {});
      expect((await errorOf(db.call('getCall', { id: oldDone.call.id }))).code).toBe('NOT_FOUND');
      const counters = await db.call('getCounters', {});
      expect(counters.callsByStatus.DONE).toBe(0);
      expect(counters.callsByStatus.PENDING).toBe(1);
      expect(counters.oldestCall).toEqual({ callNum: oldPending.call.callNum, createdAt: longAgo });

      expect(await db.call('getCall', { id: oldPending.call.id })).toMatchObject({ nextAttemptAt: null, failures: 0, deadLetter: false, idempotencyKey: null });
      expect((await db.call('listCalls', { deadLetter: false, funcName: 'legacy' })).calls.map((c) => c.id)).toEqual([oldPending.call.id]);
      const failed = await db.call('updateCall', {
        id: oldPending.call.id,
        expect: { status: 'PENDING', attempt: 1 },
        set: { status: 'ERROR', finishedAt: Date.now(), failures: 1, deadLetter: true },
      });
      expect(failed).toMatchObject({ status: 'ERROR', failures: 1, deadLetter: true });
      expect((await db.call('listCalls', { deadLetter: true })).calls.map((c) => c.id)).toEqual([oldPending.call.id]);
    } finally {
      await run.stop();
      await cleanup();
    }
  });
});
