import { nanoid } from 'nanoid';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDbClient, type DbClient } from '../../shared/clients/db-client.js';
import { FerryError } from '../../shared/errors.js';
import type { Call, CallStatus } from '../../shared/protocol/domain.js';
import { padCallNum } from '../../services/db/keys.js';
import { Store } from '../../services/db/store.js';
import { spawnDaemon, type DaemonProcess } from '../helpers/daemon.js';
import { makeTempDir, waitUntil } from '../helpers/temp.js';

/**
 * The DB side of the job engine: HELD calls, idempotent creates, dead letters and the retention
 * pass, against a real db daemon process on a real LevelDB in a temp dir.
 */

const HOUR = 3_600_000;

async function errorOf(p: Promise<unknown>): Promise<FerryError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof FerryError) return err;
    throw err;
  }
  throw new Error('expected the request to fail');
}

const fnName = (prefix: string): string => `${prefix}-${nanoid(6).toLowerCase().replace(/[^a-z0-9]/g, 'x')}`;

interface RunningDb {
  daemon: DaemonProcess;
  db: DbClient;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * A db daemon on `dir`. The retention timer is pushed out of the way (an hour) unless a test asks
 * otherwise, so passes run only when a test calls purgeExpired (and once at start).
 */
async function startDb(dir: string, env: Record<string, string> = {}): Promise<RunningDb> {
  const daemon = await spawnDaemon('db', { FERRY_DATA_DIR: dir, FERRY_DB_BIND: 'tcp://127.0.0.1:*', FERRY_RETENTION_SCAN_MS: String(HOUR), ...env });
  const db = createDbClient({ dbAddr: daemon.endpoint, requestTimeoutMs: 10_000, requestRetries: 0 });
  return {
    daemon,
    db,
    stop: async (signal) => {
      await db.close();
      await daemon.kill(signal);
    },
  };
}

describe('DB job engine: held calls, idempotent creates, dead letters', () => {
  let run: RunningDb;
  let db: DbClient;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const tmp = await makeTempDir();
    cleanup = tmp.cleanup;
    run = await startDb(tmp.dir);
    db = run.db;
  });
  afterAll(async () => {
    await run?.stop();
    await cleanup?.();
  });

  it('stores a held call HELD, with the new fields at their defaults, and counts it', async () => {
    const before = await db.call('getCounters', {});
    const fn = fnName('held');
    const held = await db.call('createCall', { id: nanoid(), funcName: fn, version: 1, hold: true });
    const plain = await db.call('createCall', { id: nanoid(), funcName: fn, version: 1, hold: false });
    expect(held).toMatchObject({ status: 'HELD', nextAttemptAt: null, failures: 0, deadLetter: false, idempotencyKey: null });
    expect(plain.status).toBe('PENDING');
    expect((await db.call('listCalls', { status: 'HELD', funcName: fn })).calls.map((c) => c.id)).toEqual([held.id]);
    const after = await db.call('getCounters', {});
    expect(after.callsByStatus.HELD).toBe(before.callsByStatus.HELD + 1);
    expect(after.callsByStatus.PENDING).toBe(before.callsByStatus.PENDING + 1);

    await db.call('updateCall', { id: held.id, expect: { status: 'HELD' }, set: { status: 'PENDING' } });
    expect((await db.call('listCalls', { status: 'HELD', funcName: fn })).calls).toEqual([]);
    const moved = await db.call('getCounters', {});
    expect(moved.callsByStatus.HELD).toBe(before.callsByStatus.HELD);
    expect(moved.callsByStatus.PENDING).toBe(before.callsByStatus.PENDING + 2);
  });

  it('answers a create with a live key with the call the key made; other params are IDEMPOTENCY_CONFLICT', async () => {
    const fn = fnName('idem');
    const idempotency = { key: 'order-17', paramsHash: 'h1', ttlMs: HOUR };
    const first = await db.call('createCall', { id: nanoid(), funcName: fn, version: 1, params: { n: 1 }, idempotency });
    expect(first.replayed).toBeUndefined();
    expect(first.idempotencyKey).toBe('order-17');
    const lastCallNum = (await db.call('getCounters', {})).lastCallNum;

    // A resent create (same id) is answered by the id rule, which comes first.
    const resent = await db.call('createCall', { id: first.id, funcName: fn, version: 1, idempotency });
    expect(resent.callNum).toBe(first.callNum);
    expect(resent.replayed).toBeUndefined();

    const replay = await db.call('createCall', { id: nanoid(), funcName: fn, version: 1, params: { n: 1 }, idempotency });
    expect(replay).toMatchObject({ id: first.id, callNum: first.callNum, replayed: true });
    expect((await db.call('getCounters', {})).lastCallNum).toBe(lastCallNum);
    // `replayed` belongs to the reply, not to the stored call.
    expect('replayed' in (await db.call('getCall', { id: first.id }))).toBe(false);

    const conflict = await errorOf(
      db.call('createCall', { id: nanoid(), funcName: fn, version: 1, params: { n: 2 }, idempotency: { ...idempotency, paramsHash: 'h2' } }),
    );
    expect(conflict).toMatchObject({ code: 'IDEMPOTENCY_CONFLICT', retryable: false });
    expect(conflict.message).toContain(first.id);

    // Keys belong to one function.
    const other = await db.call('createCall', { id: nanoid(), funcName: `${fn}-b`, version: 1, idempotency });
    expect(other.replayed).toBeUndefined();
    expect(other.id).not.toBe(first.id);

    const racers = await Promise.all(
      Array.from({ length: 20 }, () =>
        db.call('createCall', { id: nanoid(), funcName: fn, version: 1, idempotency: { key: 'race', paramsHash: 'r', ttlMs: HOUR } }),
      ),
    );
    expect(new Set(racers.map((c) => c.id)).size).toBe(1);
    expect(racers.filter((c) => c.replayed !== true)).toHaveLength(1);
    expect((await db.call('listCalls', { funcName: fn })).calls.map((c) => c.id).sort()).toEqual([first.id, racers[0]!.id].sort());
  });

  it('an expired key no longer replays, and a pass removes expired keys', async () => {
    const fn = fnName('ttl');
    const first = await db.call('createCall', { id: nanoid(), funcName: fn, version: 1, idempotency: { key: 'k', paramsHash: 'h', ttlMs: 1 } });
    // Until the key expires a create replays (and makes nothing); then it makes a new call.
    let fresh: Call | undefined;
    await waitUntil(async () => {
      const c = await db.call('createCall', { id: nanoid(), funcName: fn, version: 1, idempotency: { key: 'k', paramsHash: 'h', ttlMs: HOUR } });
      if (c.replayed !== true) fresh = c;
      return fresh !== undefined;
    }, 'the 1 ms idempotency key expired');
    expect(fresh!.id).not.toBe(first.id);
    // The new call now owns the key, for an hour.
    const replay = await db.call('createCall', { id: nanoid(), funcName: fn, version: 1, idempotency: { key: 'k', paramsHash: 'h', ttlMs: HOUR } });
    expect(replay).toMatchObject({ id: fresh!.id, replayed: true });
    expect(await db.call('listCalls', { funcName: fn })).toMatchObject({ calls: [{ id: fresh!.id }, { id: first.id }] });

    // Only this short key can expire in this daemon's store: the others live for an hour.
    await db.call('createCall', { id: nanoid(), funcName: fn, version: 1, idempotency: { key: 'short', paramsHash: 'h', ttlMs: 1 } });
    let removedKeys = 0;
    await waitUntil(async () => {
      const pass = await db.call('purgeExpired', {});
      expect(pass.removedCalls).toBe(0);
      removedKeys += pass.removedKeys;
      return removedKeys > 0;
    }, 'a retention pass removed the expired key');
    expect(removedKeys).toBe(1);
    expect(await db.call('purgeExpired', {})).toEqual({ removedCalls: 0, removedKeys: 0 });
    const again = await db.call('createCall', { id: nanoid(), funcName: fn, version: 1, idempotency: { key: 'short', paramsHash: 'x', ttlMs: HOUR } });
    expect(again.replayed).toBeUndefined();
  });

  it('lists dead letters newest first, paged and filtered, and drops a call from them when it leaves', async () => {
    const fn = fnName('dl');
    const session = `s${nanoid(6)}`;
    const made: Call[] = [];
    for (let i = 0; i < 6; i++) {
      made.push(await db.call('createCall', { id: nanoid(), funcName: fn, version: 1, sessionId: i === 0 ? session : undefined }));
    }
    const fail = (c: Call, deadLetter: boolean) =>
      db.call('updateCall', {
        id: c.id,
        expect: { status: 'PENDING' },
        set: { status: 'ERROR', finishedAt: Date.now(), failures: 3, deadLetter, error: { code: 'E', message: 'boom' } },
      });
    for (const i of [0, 2, 4]) await fail(made[i]!, true);
    await fail(made[1]!, false);
    const nums = (page: { calls: Call[] }): number[] => page.calls.map((c) => c.callNum);
    const num = (i: number): number => made[i]!.callNum;

    expect(nums(await db.call('listCalls', { deadLetter: true, funcName: fn }))).toEqual([num(4), num(2), num(0)]);
    const p1 = await db.call('listCalls', { deadLetter: true, funcName: fn, limit: 2 });
    expect(nums(p1)).toEqual([num(4), num(2)]);
    const p2 = await db.call('listCalls', { deadLetter: true, funcName: fn, limit: 2, cursor: p1.nextCursor! });
    expect(nums(p2)).toEqual([num(0)]);
    expect(p2.nextCursor).toBeNull();
    expect(nums(await db.call('listCalls', { deadLetter: true, sessionId: session }))).toEqual([num(0)]);
    expect(nums(await db.call('listCalls', { deadLetter: true, status: 'PENDING', funcName: fn }))).toEqual([]);
    expect(nums(await db.call('listCalls', { deadLetter: false, funcName: fn }))).toEqual([num(5), num(3), num(1)]);
    expect(nums(await db.call('listCalls', { deadLetter: false, status: 'ERROR', funcName: fn }))).toEqual([num(1)]);
    expect(nums(await db.call('listCalls', { deadLetter: true, limit: 1000 }))).toEqual(expect.arrayContaining([num(4), num(2), num(0)]));

    // A manual retry: back to PENDING, out of the dead letters.
    const retried = await db.call('updateCall', {
      id: made[2]!.id,
      expect: { status: 'ERROR' },
      set: { status: 'PENDING', deadLetter: false, failures: 0, finishedAt: null, error: null },
    });
    expect(retried).toMatchObject({ status: 'PENDING', deadLetter: false, failures: 0 });
    expect(nums(await db.call('listCalls', { deadLetter: true, funcName: fn }))).toEqual([num(4), num(0)]);
    expect(nums(await db.call('listCalls', { deadLetter: false, funcName: fn }))).toEqual([num(5), num(3), num(2), num(1)]);
    // And back in, then out again without a status change.
    await db.call('updateCall', { id: made[2]!.id, expect: { status: 'PENDING' }, set: { status: 'ERROR', deadLetter: true, finishedAt: Date.now() } });
    expect(nums(await db.call('listCalls', { deadLetter: true, funcName: fn }))).toEqual([num(4), num(2), num(0)]);
    await db.call('updateCall', { id: made[4]!.id, expect: { status: 'ERROR' }, set: { deadLetter: false } });
    expect(nums(await db.call('listCalls', { deadLetter: true, funcName: fn }))).toEqual([num(2), num(0)]);
  });
});

describe('DB idempotency keys across a restart', () => {
  it('a key still answers after kill -9 and a restart on the same dir', async () => {
    const { dir, cleanup } = await makeTempDir();
    let run = await startDb(dir);
    try {
      const idempotency = { key: 'pay-42', paramsHash: 'p', ttlMs: HOUR };
      const first = await run.db.call('createCall', { id: nanoid(), funcName: 'f', version: 1, idempotency });
      await run.stop('SIGKILL');

      run = await startDb(dir);
      const replay = await run.db.call('createCall', { id: nanoid(), funcName: 'f', version: 1, idempotency });
      expect(replay).toMatchObject({ id: first.id, callNum: first.callNum, replayed: true });
      const conflict = await errorOf(run.db.call('createCall', { id: nanoid(), funcName: 'f', version: 1, idempotency: { ...idempotency, paramsHash: 'q' } }));
      expect(conflict.code).toBe('IDEMPOTENCY_CONFLICT');
    } finally {
      await run.stop();
      await cleanup();
    }
  });
});

describe('DB retention pass', () => {
  it('removes ended calls past the retention with every index entry and key, keeps the rest, and keeps counters right', async () => {
    const { dir, cleanup } = await makeTempDir();
    const run = await startDb(dir, { FERRY_CALL_RETENTION_MS: '60000' });
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

      // Nothing in LevelDB still points at a removed call.
      await run.stop();
      stopped = true;
      const store = await Store.open(path.join(dir, 'db'), { sync: false });
      try {
        const removedIds = new Set(old.map((c) => c.id));
        const removedNums = old.map((c) => `!${padCallNum(c.callNum)}`);
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
        expect(left).toEqual([]);
      } finally {
        await store.close();
      }
    } finally {
      if (!stopped) await run.stop();
      await cleanup();
    }
  });

  it('keeps calls stored before the new fields working, and removes the old ended ones', async () => {
    const { dir, cleanup } = await makeTempDir();
    const longAgo = Date.now() - 30 * 24 * HOUR;
    // Calls as an earlier Ferry stored them: no nextAttemptAt, failures, deadLetter,
    // idempotencyKey, and no ended-by-time index entry.
    const store = await Store.open(path.join(dir, 'db'), { sync: false });
    const legacy = (status: CallStatus, finishedAt: number | null) => {
      const callNum = store.nextCallNum();
      store.countStatus(null, status);
      const call = {
        id: `legacy-${callNum}-${nanoid(6)}`,
        callNum,
        funcName: 'legacy',
        version: 1,
        params: null,
        status,
        result: '',
        error: null,
        logs: null,
        attempt: 1,
        workerId: null,
        sessionId: null,
        progress: null,
        metrics: null,
        createdAt: longAgo,
        startedAt: null,
        finishedAt,
      };
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
