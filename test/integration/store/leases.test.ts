import { describe, expect, it } from 'vitest';
import { dbOnStore, storesUnderTest } from '../../helpers/stores.js';
import { waitUntil } from '../../helpers/temp.js';

/**
 * Leases, what two api daemons decide which one schedules by: one holder at a time, a new holder
 * only once the lease expired or was given up, the epoch up by one at each change of holder.
 */
describe.each(storesUnderTest())('DB leases on $name', (store) => {
  const on = dbOnStore(store);

  it('grants one holder at a time, renews its own, and passes on once it expired, with the next epoch', async () => {
    const take = (holder: string, ttlMs: number) => on.db.call('takeLease', { name: 'sched-a', holder, ttlMs, info: { url: `http://${holder}` } });
    expect(await take('a', 60_000)).toMatchObject({ holder: 'a', epoch: 1, mine: true, info: { url: 'http://a' } });
    const refused = await take('b', 60_000);
    expect(refused).toMatchObject({ holder: 'a', epoch: 1, mine: false, info: { url: 'http://a' } });
    expect(refused.expiresInMs).toBeGreaterThan(0);
    // Renewed short: b gets it once that runs out, not before.
    expect(await take('a', 300)).toMatchObject({ holder: 'a', epoch: 1, mine: true });
    await waitUntil(async () => (await take('b', 60_000)).mine, 'b took the expired lease');
    expect(await take('a', 60_000)).toMatchObject({ holder: 'b', epoch: 2, mine: false, info: { url: 'http://b' } });
  });

  it('given up, goes to the next asker at once', async () => {
    const take = (holder: string) => on.db.call('takeLease', { name: 'sched-b', holder, ttlMs: 60_000 });
    expect((await take('a')).mine).toBe(true);
    expect(await on.db.call('dropLease', { name: 'sched-b', holder: 'b' })).toEqual({ dropped: false });
    expect((await take('b')).mine).toBe(false);
    expect(await on.db.call('dropLease', { name: 'sched-b', holder: 'a' })).toEqual({ dropped: true });
    expect(await take('b')).toMatchObject({ holder: 'b', epoch: 2, mine: true });
  });

  it('grants exactly one of many asking at once, and keeps it across a restart', async () => {
    const holders = Array.from({ length: 20 }, (_, i) => `h${i}`);
    const answers = await Promise.all(holders.map((holder) => on.db.call('takeLease', { name: 'sched-c', holder, ttlMs: 60_000 })));
    const winners = answers.filter((a) => a.mine);
    expect(winners).toHaveLength(1);
    const winner = winners[0]!.holder;
    expect(new Set(answers.map((a) => a.holder))).toEqual(new Set([winner]));

    await on.restart('SIGKILL');
    expect(await on.db.call('takeLease', { name: 'sched-c', holder: 'late', ttlMs: 60_000 })).toMatchObject({ holder: winner, epoch: 1, mine: false });
  });
});
