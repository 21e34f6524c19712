import { nanoid } from 'nanoid';
import { describe, expect, it } from 'vitest';
import type { Call } from '../../../shared/protocol/domain.js';
import { errorOf, fnName, HOUR, startDb } from '../../helpers/db.js';
import { dbOnStore, storesUnderTest } from '../../helpers/stores.js';
import { makeTempDir, waitUntil } from '../../helpers/temp.js';

/**
 * The DB side of the job engine: HELD calls, idempotent creates and dead letters, against a real
 * db daemon process on each store (a LevelDB in a temp dir, a PostgreSQL database).
 */

describe.each(storesUnderTest())('DB job engine on $name: held calls, idempotent creates, dead letters', (store) => {
  const on = dbOnStore(store);

  it('stores a held call HELD, with the new fields at their defaults, and counts it', async () => {
    const before = await on.db.call('getCounters', {});
    const fn = fnName('held');
    const held = await on.db.call('createCall', { id: nanoid(), funcName: fn, version: 1, hold: true });
    const plain = await on.db.call('createCall', { id: nanoid(), funcName: fn, version: 1, hold: false });
    expect(held).toMatchObject({ status: 'HELD', nextAttemptAt: null, failures: 0, deadLetter: false, idempotencyKey: null });
    expect(plain.status).toBe('PENDING');
    expect((await on.db.call('listCalls', { status: 'HELD', funcName: fn })).calls.map((c) => c.id)).toEqual([held.id]);
    const after = await on.db.call('getCounters', {});
    expect(after.callsByStatus.HELD).toBe(before.callsByStatus.HELD + 1);
    expect(after.callsByStatus.PENDING).toBe(before.callsByStatus.PENDING + 1);

    await on.db.call('updateCall', { id: held.id, expect: { status: 'HELD' }, set: { status: 'PENDING' } });
    expect((await on.db.call('listCalls', { status: 'HELD', funcName: fn })).calls).toEqual([]);
    const moved = await on.db.call('getCounters', {});
    expect(moved.callsByStatus.HELD).toBe(before.callsByStatus.HELD);
    expect(moved.callsByStatus.PENDING).toBe(before.callsByStatus.PENDING + 2);
  });

  it('answers a create with a live key with the call the key made; other params are IDEMPOTENCY_CONFLICT', async () => {
    const fn = fnName('idem');
    const idempotency = { key: 'order-17', paramsHash: 'h1', ttlMs: HOUR };
    const first = await on.db.call('createCall', { id: nanoid(), funcName: fn, version: 1, params: { n: 1 }, idempotency });
    expect(first.replayed).toBeUndefined();
    expect(first.idempotencyKey).toBe('order-17');
    const lastCallNum = (await on.db.call('getCounters', {})).lastCallNum;

    // A resent create (same id) is answered by the id rule, which comes first.
    const resent = await on.db.call('createCall', { id: first.id, funcName: fn, version: 1, idempotency });
    expect(resent.callNum).toBe(first.callNum);
    expect(resent.replayed).toBeUndefined();

    const replay = await on.db.call('createCall', { id: nanoid(), funcName: fn, version: 1, params: { n: 1 }, idempotency });
    expect(replay).toMatchObject({ id: first.id, callNum: first.callNum, replayed: true });
    expect((await on.db.call('getCounters', {})).lastCallNum).toBe(lastCallNum);
    // `replayed` belongs to the reply, not to the stored call.
    expect('replayed' in (await on.db.call('getCall', { id: first.id }))).toBe(false);

    const conflict = await errorOf(
      on.db.call('createCall', { id: nanoid(), funcName: fn, version: 1, params: { n: 2 }, idempotency: { ...idempotency, paramsHash: 'h2' } }),
    );
    expect(conflict).toMatchObject({ code: 'IDEMPOTENCY_CONFLICT', retryable: false });
    expect(conflict.message).toContain(first.id);

    // Keys belong to one function.
    const other = await on.db.call('createCall', { id: nanoid(), funcName: `${fn}-b`, version: 1, idempotency });
    expect(other.replayed).toBeUndefined();
    expect(other.id).not.toBe(first.id);

    const racers = await Promise.all(
      Array.from({ length: 20 }, () =>
        on.db.call('createCall', { id: nanoid(), funcName: fn, version: 1, idempotency: { key: 'race', paramsHash: 'r', ttlMs: HOUR } }),
      ),
    );
    expect(new Set(racers.map((c) => c.id)).size).toBe(1);
    expect(racers.filter((c) => c.replayed !== true)).toHaveLength(1);
    expect((await on.db.call('listCalls', { funcName: fn })).calls.map((c) => c.id).sort()).toEqual([first.id, racers[0]!.id].sort());
  });

  it('an expired key no longer replays, and a pass removes expired keys', async () => {
    const fn = fnName('ttl');
    const first = await on.db.call('createCall', { id: nanoid(), funcName: fn, version: 1, idempotency: { key: 'k', paramsHash: 'h', ttlMs: 1 } });
    // Until the key expires a create replays (and makes nothing); then it makes a new call.
    let fresh: Call | undefined;
    await waitUntil(async () => {
      const c = await on.db.call('createCall', { id: nanoid(), funcName: fn, version: 1, idempotency: { key: 'k', paramsHash: 'h', ttlMs: HOUR } });
      if (c.replayed !== true) fresh = c;
      return fresh !== undefined;
    }, 'the 1 ms idempotency key expired');
    expect(fresh!.id).not.toBe(first.id);
    // The new call now owns the key, for an hour.
    const replay = await on.db.call('createCall', { id: nanoid(), funcName: fn, version: 1, idempotency: { key: 'k', paramsHash: 'h', ttlMs: HOUR } });
    expect(replay).toMatchObject({ id: fresh!.id, replayed: true });
    expect(await on.db.call('listCalls', { funcName: fn })).toMatchObject({ calls: [{ id: fresh!.id }, { id: first.id }] });

    // Only this short key can expire in this daemon's store: the others live for an hour.
    await on.db.call('createCall', { id: nanoid(), funcName: fn, version: 1, idempotency: { key: 'short', paramsHash: 'h', ttlMs: 1 } });
    let removedKeys = 0;
    await waitUntil(async () => {
      const pass = await on.db.call('purgeExpired', {});
      expect(pass.removedCalls).toBe(0);
      removedKeys += pass.removedKeys;
      return removedKeys > 0;
    }, 'a retention pass removed the expired key');
    expect(removedKeys).toBe(1);
    expect(await on.db.call('purgeExpired', {})).toEqual({ removedCalls: 0, removedKeys: 0 });
    const again = await on.db.call('createCall', { id: nanoid(), funcName: fn, version: 1, idempotency: { key: 'short', paramsHash: 'x', ttlMs: HOUR } });
    expect(again.replayed).toBeUndefined();
  });

  it('lists dead letters newest first, paged and filtered, and drops a call from them when it leaves', async () => {
    const fn = fnName('dl');
    const session = `s${nanoid(6)}`;
    const made: Call[] = [];
    for (let i = 0; i < 6; i++) {
      made.push(await on.db.call('createCall', { id: nanoid(), funcName: fn, version: 1, sessionId: i === 0 ? session : undefined }));
    }
    const fail = (c: Call, deadLetter: boolean) =>
      on.db.call('updateCall', {
        id: c.id,
        expect: { status: 'PENDING' },
        set: { status: 'ERROR', finishedAt: Date.now(), failures: 3, deadLetter, error: { code: 'E', message: 'boom' } },
      });
    for (const i of [0, 2, 4]) await fail(made[i]!, true);
    await fail(made[1]!, false);
    const nums = (page: { calls: Call[] }): number[] => page.calls.map((c) => c.callNum);
    const num = (i: number): number => made[i]!.callNum;

    expect(nums(await on.db.call('listCalls', { deadLetter: true, funcName: fn }))).toEqual([num(4), num(2), num(0)]);
    const p1 = await on.db.call('listCalls', { deadLetter: true, funcName: fn, limit: 2 });
    expect(nums(p1)).toEqual([num(4), num(2)]);
    const p2 = await on.db.call('listCalls', { deadLetter: true, funcName: fn, limit: 2, cursor: p1.nextCursor! });
    expect(nums(p2)).toEqual([num(0)]);
    expect(p2.nextCursor).toBeNull();
    expect(nums(await on.db.call('listCalls', { deadLetter: true, sessionId: session }))).toEqual([num(0)]);
    expect(nums(await on.db.call('listCalls', { deadLetter: true, status: 'PENDING', funcName: fn }))).toEqual([]);
    expect(nums(await on.db.call('listCalls', { deadLetter: false, funcName: fn }))).toEqual([num(5), num(3), num(1)]);
    expect(nums(await on.db.call('listCalls', { deadLetter: false, status: 'ERROR', funcName: fn }))).toEqual([num(1)]);
    expect(nums(await on.db.call('listCalls', { deadLetter: true, limit: 1000 }))).toEqual(expect.arrayContaining([num(4), num(2), num(0)]));

    // A manual retry: back to PENDING, out of the dead letters.
    const retried = await on.db.call('updateCall', {
      id: made[2]!.id,
      expect: { status: 'ERROR' },
      set: { status: 'PENDING', deadLetter: false, failures: 0, finishedAt: null, error: null },
    });
    expect(retried).toMatchObject({ status: 'PENDING', deadLetter: false, failures: 0 });
    expect(nums(await on.db.call('listCalls', { deadLetter: true, funcName: fn }))).toEqual([num(4), num(0)]);
    expect(nums(await on.db.call('listCalls', { deadLetter: false, funcName: fn }))).toEqual([num(5), num(3), num(2), num(1)]);
    // And back in, then out again without a status change.
    await on.db.call('updateCall', { id: made[2]!.id, expect: { status: 'PENDING' }, set: { status: 'ERROR', deadLetter: true, finishedAt: Date.now() } });
    expect(nums(await on.db.call('listCalls', { deadLetter: true, funcName: fn }))).toEqual([num(4), num(2), num(0)]);
    await on.db.call('updateCall', { id: made[4]!.id, expect: { status: 'ERROR' }, set: { deadLetter: false } });
    expect(nums(await on.db.call('listCalls', { deadLetter: true, funcName: fn }))).toEqual([num(2), num(0)]);
  });
});

describe.each(storesUnderTest())('DB idempotency keys across a restart on $name', (store) => {
  it('a key still answers after kill -9 and a restart on the same dir', async () => {
    const { dir, cleanup } = await makeTempDir();
    const storeEnv = await store.fresh();
    let run = await startDb(dir, storeEnv);
    try {
      const idempotency = { key: 'pay-42', paramsHash: 'p', ttlMs: HOUR };
      const first = await run.db.call('createCall', { id: nanoid(), funcName: 'f', version: 1, idempotency });
      await run.stop('SIGKILL');

      run = await startDb(dir, storeEnv);
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
