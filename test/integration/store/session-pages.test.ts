import { nanoid } from 'nanoid';
import { describe, expect, it } from 'vitest';
import type { GroupResultPageReply } from '../../../shared/protocol/db-messages.js';
import { newGroupId } from '../../../shared/protocol/group.js';
import { errorOf, fnName } from '../../helpers/db.js';
import { dbOnStore, storesUnderTest } from '../../helpers/stores.js';

/**
 * Finish sequences and result pages against a real db daemon on each store: the order of
 * ends is the DB's own counter, so pages taken while calls end (with any finish times at all)
 * never overlap or skip, read back the same, and carry on across a restart.
 */
describe.each(storesUnderTest())('DB result pages on $name: by finish sequence, never by clock', (store) => {
  const on = dbOnStore(store);

  it('pages calls ending at once, with finish times in any order, with no overlap and no gap, across a restart', async () => {
    const groupId = newGroupId();
    const fn = fnName('ssp');
    await on.db.call('createGroup', { id: groupId, kind: 'session', function: '*', total: 0 });
    const calls = await Promise.all(
      Array.from({ length: 60 }, (_, i) => on.db.call('createCall', { id: nanoid(), funcName: fn, version: 1, groupId, groupIndex: i + 1, sessionId: groupId })),
    );
    const t = Date.now();
    const pages: GroupResultPageReply[] = [];
    const take = async (): Promise<void> => {
      const p = await on.db.call('nextGroupPage', { id: groupId });
      if (p) pages.push(p);
    };
    // Ends and page requests interleaved; finish times jump about by up to half an hour either way, as
    // skewed clocks would (recent enough that retention, which runs at the db's start, keeps them).
    await Promise.all(
      calls.map(async (call, i) => {
        await on.db.call('updateCall', { id: call.id, expect: { status: 'PENDING' }, set: { status: 'DONE', finishedAt: t + (((i * 37) % 60) - 30) * 60_000 } });
        if (i % 4 === 0) await Promise.all([take(), take()]);
      }),
    );
    await take();
    expect(await on.db.call('nextGroupPage', { id: groupId })).toBeNull();
    pages.sort((a, b) => a.page - b.page);

    const seen: string[] = [];
    pages.forEach((p, i) => {
      expect(p.page).toBe(i + 1);
      expect(p.from).toBe(i === 0 ? 0 : pages[i - 1]!.to);
      const seqs = p.calls.map((c) => c.finishSeq!);
      expect(seqs).toEqual(Array.from({ length: p.to - p.from }, (_, k) => p.from + k + 1));
      seen.push(...p.calls.map((c) => c.id));
    });
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual(calls.map((c) => c.id).sort());
    expect((await on.db.call('getGroup', { id: groupId })).finishSeq).toBe(60);

    await on.restart();
    for (const p of pages) expect(await on.db.call('getGroupPage', { id: groupId, page: p.page })).toEqual(p);
    expect((await errorOf(on.db.call('getGroupPage', { id: groupId, page: pages.length + 1 }))).code).toBe('NOT_FOUND');

    // Run again and ended again: a new number, after every one given before the restart.
    const again = calls[0]!;
    await on.db.call('updateCall', { id: again.id, expect: { status: 'DONE' }, set: { status: 'PENDING', attempt: 2, finishedAt: null } });
    expect((await on.db.call('getCall', { id: again.id })).finishSeq).toBeNull();
    await on.db.call('updateCall', { id: again.id, expect: { status: 'PENDING' }, set: { status: 'ERROR', finishedAt: t - 3_600_000 } });
    expect((await on.db.call('getCall', { id: again.id })).finishSeq).toBe(61);
    const next = await on.db.call('nextGroupPage', { id: groupId });
    expect(next).toMatchObject({ page: pages.length + 1, from: 60, to: 61 });
    expect(next!.calls.map((c) => c.id)).toEqual([again.id]);
  });
});
