import { nanoid } from 'nanoid';
import { describe, expect, it } from 'vitest';
import { newGroupId } from '../../../shared/protocol/group.js';
import { errorOf, fnName } from '../../helpers/db.js';
import { dbOnStore, storesUnderTest } from '../../helpers/stores.js';

/**
 * The group store against a real db daemon on each store: a group's counts and times move
 * with its calls' status changes, in the same write, and are there again after a restart.
 */
describe.each(storesUnderTest())('DB groups on $name: counts kept with every status change of their calls', (store) => {
  const on = dbOnStore(store);

  it('makes a group, answers a resent create with it, and refuses a call naming an unknown group', async () => {
    const id = newGroupId();
    const g = await on.db.call('createGroup', { id, kind: 'run', function: 'f@1', spec: { params: { a: 1 } }, total: 3 });
    expect(g).toMatchObject({ id, kind: 'run', function: 'f@1', total: 3, counts: {}, firstStartedAt: null, lastFinishedAt: null, cancelledAt: null });
    expect((await on.db.call('createGroup', { id, kind: 'run', function: 'other@2', total: 9 })).createdAt).toBe(g.createdAt);
    expect((await errorOf(on.db.call('getGroup', { id: newGroupId() }))).code).toBe('NOT_FOUND');
    const err = await errorOf(on.db.call('createCall', { id: nanoid(), funcName: 'f', version: 1, groupId: newGroupId(), groupIndex: 1 }));
    expect(err.code).toBe('NOT_FOUND');
  });

  it('keeps counts right through a retry (ERROR → PENDING → RUNNING → DONE), across a restart', async () => {
    const groupId = newGroupId();
    const fn = fnName('grp');
    // Recent times: retention (which runs at the db's start) removes calls that ended long ago.
    const t = Date.now();
    await on.db.call('createGroup', { id: groupId, kind: 'run', function: `${fn}@1`, total: 2 });
    const [a, b] = await Promise.all(
      [1, 2].map((i) => on.db.call('createCall', { id: nanoid(), funcName: fn, version: 1, groupId, groupIndex: i })),
    );
    expect(a!.groupId).toBe(groupId);
    expect((await on.db.call('getGroup', { id: groupId })).counts).toEqual({ PENDING: 2 });

    // Both change at once: neither change may be lost to the other.
    await Promise.all([
      on.db.call('updateCall', { id: a!.id, expect: { status: 'PENDING' }, set: { status: 'RUNNING', startedAt: t + 1_000 } }),
      on.db.call('updateCall', { id: b!.id, expect: { status: 'PENDING' }, set: { status: 'RUNNING', startedAt: t + 1_500 } }),
    ]);
    await on.db.call('updateCall', { id: a!.id, expect: { status: 'RUNNING' }, set: { status: 'ERROR', finishedAt: t + 2_000 } });
    await on.db.call('updateCall', { id: b!.id, expect: { status: 'RUNNING' }, set: { status: 'DONE', finishedAt: t + 2_500 } });
    expect(await on.db.call('getGroup', { id: groupId })).toMatchObject({ counts: { ERROR: 1, DONE: 1 }, firstStartedAt: t + 1_000, lastFinishedAt: t + 2_500 });

    // The retry, as the api's lifecycle writes it.
    await on.db.call('updateCall', { id: a!.id, expect: { status: 'ERROR' }, set: { status: 'PENDING', attempt: 2, startedAt: null, finishedAt: null } });
    expect((await on.db.call('getGroup', { id: groupId })).counts).toEqual({ PENDING: 1, DONE: 1 });
    await on.db.call('updateCall', { id: a!.id, expect: { status: 'PENDING' }, set: { status: 'RUNNING', startedAt: t + 3_000 } });
    await on.db.call('updateCall', { id: a!.id, expect: { status: 'RUNNING' }, set: { status: 'DONE', finishedAt: t + 4_000 } });
    // A refused (stale) write changes nothing.
    await errorOf(on.db.call('updateCall', { id: a!.id, expect: { status: 'RUNNING' }, set: { status: 'KILLED' } }));

    const want = { counts: { DONE: 2 }, firstStartedAt: t + 1_000, lastFinishedAt: t + 4_000 };
    expect(await on.db.call('getGroup', { id: groupId })).toMatchObject(want);
    const page = await on.db.call('listCalls', { groupId, limit: 10 });
    expect(page.calls.map((c) => c.groupIndex).sort()).toEqual([1, 2]);

    await on.restart();
    expect(await on.db.call('getGroup', { id: groupId })).toMatchObject(want);
    expect((await on.db.call('listCalls', { groupId, limit: 10 })).calls).toHaveLength(2);
  });

  it('lists groups newest first, by kind, a page at a time, and marks a cancel once', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const id = newGroupId();
      ids.push(id);
      await on.db.call('createGroup', { id, kind: 'batch', function: 'f@1', total: 1 });
    }
    const first = await on.db.call('listGroups', { kind: 'batch', limit: 2 });
    expect(first.nextCursor).not.toBeNull();
    const second = await on.db.call('listGroups', { kind: 'batch', limit: 2, cursor: first.nextCursor! });
    expect([...first.groups, ...second.groups].map((g) => g.id)).toEqual([...ids].reverse());
    expect(second.nextCursor).toBeNull();
    expect((await on.db.call('listGroups', { limit: 1000 })).groups.map((g) => g.id)).toEqual(expect.arrayContaining(ids));

    const beingMade = (await on.db.call('listGroupsBeingMade', {})).map((g) => g.id);
    expect(beingMade).toEqual(expect.arrayContaining(ids));
    await on.db.call('groupMade', { id: ids[1]! });
    expect((await on.db.call('listGroupsBeingMade', {})).map((g) => g.id)).not.toContain(ids[1]);

    const cancelled = await on.db.call('cancelGroup', { id: ids[0]! });
    expect(cancelled.cancelledAt).not.toBeNull();
    expect((await on.db.call('cancelGroup', { id: ids[0]! })).cancelledAt).toBe(cancelled.cancelledAt);
  });
});
