import { nanoid } from 'nanoid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DbClient } from '../../../shared/clients/db-client.js';
import { newGroupId } from '../../../shared/protocol/group.js';
import { errorOf, fnName, startDb, type RunningDb } from '../../helpers/db.js';
import { storesUnderTest } from '../../helpers/stores.js';
import { makeTempDir } from '../../helpers/temp.js';

/**
 * The group store against a real db daemon on a real LevelDB: a group's counts and times move
 * with its calls' status changes, in the same write, and are there again after a restart.
 */
describe.each(storesUnderTest())('DB groups on $name: counts kept with every status change of their calls', (store) => {
  let storeEnv: Record<string, string>;
  let run: RunningDb;
  let db: DbClient;
  let dir: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const tmp = await makeTempDir();
    ({ dir, cleanup } = tmp);
    storeEnv = await store.fresh();
    run = await startDb(dir, storeEnv);
    db = run.db;
  });
  afterAll(async () => {
    await run?.stop();
    await cleanup?.();
  });

  it('makes a group, answers a resent create with it, and refuses a call naming an unknown group', async () => {
    const id = newGroupId();
    const g = await db.call('createGroup', { id, kind: 'run', function: 'f@1', spec: { params: { a: 1 } }, total: 3 });
    expect(g).toMatchObject({ id, kind: 'run', function: 'f@1', total: 3, counts: {}, firstStartedAt: null, lastFinishedAt: null, cancelledAt: null });
    expect((await db.call('createGroup', { id, kind: 'run', function: 'other@2', total: 9 })).createdAt).toBe(g.createdAt);
    expect((await errorOf(db.call('getGroup', { id: newGroupId() }))).code).toBe('NOT_FOUND');
    const err = await errorOf(db.call('createCall', { id: nanoid(), funcName: 'f', version: 1, groupId: newGroupId(), groupIndex: 1 }));
    expect(err.code).toBe('NOT_FOUND');
  });

  it('keeps counts right through a retry (ERROR → PENDING → RUNNING → DONE), across a restart', async () => {
    const groupId = newGroupId();
    const fn = fnName('grp');
    // Recent times: retention (which runs at the db's start) removes calls that ended long ago.
    const t = Date.now();
    await db.call('createGroup', { id: groupId, kind: 'run', function: `${fn}@1`, total: 2 });
    const [a, b] = await Promise.all(
      [1, 2].map((i) => db.call('createCall', { id: nanoid(), funcName: fn, version: 1, groupId, groupIndex: i })),
    );
    expect(a!.groupId).toBe(groupId);
    expect((await db.call('getGroup', { id: groupId })).counts).toEqual({ PENDING: 2 });

    // Both change at once: neither change may be lost to the other.
    await Promise.all([
      db.call('updateCall', { id: a!.id, expect: { status: 'PENDING' }, set: { status: 'RUNNING', startedAt: t + 1_000 } }),
      db.call('updateCall', { id: b!.id, expect: { status: 'PENDING' }, set: { status: 'RUNNING', startedAt: t + 1_500 } }),
    ]);
    await db.call('updateCall', { id: a!.id, expect: { status: 'RUNNING' }, set: { status: 'ERROR', finishedAt: t + 2_000 } });
    await db.call('updateCall', { id: b!.id, expect: { status: 'RUNNING' }, set: { status: 'DONE', finishedAt: t + 2_500 } });
    expect(await db.call('getGroup', { id: groupId })).toMatchObject({ counts: { ERROR: 1, DONE: 1 }, firstStartedAt: t + 1_000, lastFinishedAt: t + 2_500 });

    // The retry, as the api's lifecycle writes it.
    await db.call('updateCall', { id: a!.id, expect: { status: 'ERROR' }, set: { status: 'PENDING', attempt: 2, startedAt: null, finishedAt: null } });
    expect((await db.call('getGroup', { id: groupId })).counts).toEqual({ PENDING: 1, DONE: 1 });
    await db.call('updateCall', { id: a!.id, expect: { status: 'PENDING' }, set: { status: 'RUNNING', startedAt: t + 3_000 } });
    await db.call('updateCall', { id: a!.id, expect: { status: 'RUNNING' }, set: { status: 'DONE', finishedAt: t + 4_000 } });
    // A refused (stale) write changes nothing.
    await errorOf(db.call('updateCall', { id: a!.id, expect: { status: 'RUNNING' }, set: { status: 'KILLED' } }));

    const want = { counts: { DONE: 2 }, firstStartedAt: t + 1_000, lastFinishedAt: t + 4_000 };
    expect(await db.call('getGroup', { id: groupId })).toMatchObject(want);
    const page = await db.call('listCalls', { groupId, limit: 10 });
    expect(page.calls.map((c) => c.groupIndex).sort()).toEqual([1, 2]);

    await run.stop();
    run = await startDb(dir, storeEnv);
    db = run.db;
    expect(await db.call('getGroup', { id: groupId })).toMatchObject(want);
    expect((await db.call('listCalls', { groupId, limit: 10 })).calls).toHaveLength(2);
  });

  it('lists groups newest first, by kind, a page at a time, and marks a cancel once', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const id = newGroupId();
      ids.push(id);
      await db.call('createGroup', { id, kind: 'batch', function: 'f@1', total: 1 });
    }
    const first = await db.call('listGroups', { kind: 'batch', limit: 2 });
    expect(first.nextCursor).not.toBeNull();
    const second = await db.call('listGroups', { kind: 'batch', limit: 2, cursor: first.nextCursor! });
    expect([...first.groups, ...second.groups].map((g) => g.id)).toEqual([...ids].reverse());
    expect(second.nextCursor).toBeNull();
    expect((await db.call('listGroups', { limit: 1000 })).groups.map((g) => g.id)).toEqual(expect.arrayContaining(ids));

    const beingMade = (await db.call('listGroupsBeingMade', {})).map((g) => g.id);
    expect(beingMade).toEqual(expect.arrayContaining(ids));
    await db.call('groupMade', { id: ids[1]! });
    expect((await db.call('listGroupsBeingMade', {})).map((g) => g.id)).not.toContain(ids[1]);

    const cancelled = await db.call('cancelGroup', { id: ids[0]! });
    expect(cancelled.cancelledAt).not.toBeNull();
    expect((await db.call('cancelGroup', { id: ids[0]! })).cancelledAt).toBe(cancelled.cancelledAt);
  });
});
