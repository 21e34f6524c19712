import { nanoid } from 'nanoid';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DbClient } from '../../../shared/clients/db-client.js';
import type { DbRequestContent } from '../../../shared/protocol/db-messages.js';
import { currentNodeOf, type Call, type CallStatus } from '../../../shared/protocol/domain.js';
import { padCallNum } from '../../../services/db/level/keys.js';
import { Store } from '../../../services/db/level/store.js';
import { callRecord } from '../../helpers/call-record.js';
import { fnName, startDb, type RunningDb } from '../../helpers/db.js';
import { storesUnderTest } from '../../helpers/stores.js';
import { makeTempDir } from '../../helpers/temp.js';

/**
 * Listing calls by every filter against a real db daemon on each store: each list answers
 * exactly the calls that match, newest first, across pages, and so again after a restart. The
 * daemon reads at most 10 index entries (LevelDB) or call numbers (a PostgreSQL text search) a
 * request, so lists whose filters leave calls to check one by one come back in pages cut short,
 * which a client follows by their cursor.
 */

type ListQuery = Omit<DbRequestContent['listCalls'], 'limit' | 'cursor'>;

const SCAN_MAX = '10';
const FAKETIME_LIB = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const nodes = ['ns-list-a', 'ns-list-b', 'ns-list-c'];

/** Every call `query` lists, page by page (`limit` a page), and how many pages it took. */
async function listAll(db: DbClient, query: ListQuery, limit: number): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: { calls: Call[]; nextCursor: string | null } = await db.call('listCalls', { ...query, limit, ...(cursor ? { cursor } : {}) });
    ids.push(...page.calls.map((c) => c.id));
    cursor = page.nextCursor;
    pages += 1;
  } while (cursor);
  return { ids, pages };
}

const newestFirst = (calls: Call[]): string[] => [...calls].sort((a, b) => b.callNum - a.callNum).map((c) => c.id);

describe.each(storesUnderTest())('DB call lists by every filter on $name', (store) => {
  let storeEnv: Record<string, string>;
  let dir: string;
  let cleanup: () => Promise<void>;
  let run: RunningDb;
  const fn = fnName('ns-list');
  const other = fnName('ns-other');
  const session = `ns-session-${nanoid(6)}`;
  const group = `nsgroup${nanoid(10).replace(/[^A-Za-z0-9]/g, 'x')}`;
  let calls: Call[] = [];

  beforeAll(async () => {
    ({ dir, cleanup } = await makeTempDir());
    storeEnv = await store.fresh();
    run = await startDb(dir, { ...storeEnv, FERRY_LIST_SCAN_MAX: SCAN_MAX });
    const db = run.db;
    await db.call('createGroup', { id: group, kind: 'batch', function: fn, total: 10 });
    for (let i = 0; i < 60; i++) {
      const created = await db.call('createCall', {
        id: nanoid(),
        funcName: i % 3 === 0 ? other : fn,
        version: 1,
        params: { i, tag: i % 7 === 0 ? 'Needle' : 'hay' },
        ...(i % 5 === 0 ? { sessionId: session } : {}),
        ...(i % 6 === 1 ? { groupId: group, groupIndex: Math.ceil(i / 6) } : {}),
      });
      if (i % 4 === 3) continue; // left PENDING, on no node
      const node = nodes[i % nodes.length]!;
      const status: CallStatus = i % 4 === 1 ? 'ERROR' : 'DONE';
      await db.call('updateCall', {
        id: created.id,
        expect: { status: 'PENDING', attempt: 1 },
        set: { status, result: `out ${i}`, finishedAt: Date.now(), workerId: node },
        execution: { attempt: 1, nodeId: node, state: status },
      });
    }
    // A call sent again, to another node: it lists under the node of its current execution only.
    const moved = (await db.call('listCalls', { funcName: fn, status: 'ERROR', limit: 1 })).calls[0]!;
    await db.call('updateCall', {
      id: moved.id,
      expect: { status: 'ERROR' },
      set: { status: 'PENDING', attempt: 2 },
      execution: { attempt: 2, nodeId: 'ns-list-d', state: 'PENDING' },
    });
    calls = await Promise.all((await listAll(db, {}, 1000)).ids.map((id) => db.call('getCall', { id })));
    expect(calls).toHaveLength(60);
  });
  afterAll(async () => {
    await run?.stop();
    await cleanup?.();
  });

  /** Each list, and which stored calls it must answer. */
  function cases(): { query: ListQuery; want: (c: Call) => boolean }[] {
    const byTime = [...calls].sort((a, b) => a.callNum - b.callNum);
    const from = byTime[12]!.createdAt;
    const to = byTime[40]!.createdAt;
    const inWindow = (c: Call): boolean => c.createdAt >= from && c.createdAt <= to;
    const text = (c: Call): boolean => JSON.stringify(c.params).toLowerCase().includes('needle');
    return [
      { query: {}, want: () => true },
      { query: { funcName: fn }, want: (c) => c.funcName === fn },
      { query: { status: 'ERROR' }, want: (c) => c.status === 'ERROR' },
      { query: { nodeId: 'ns-list-b' }, want: (c) => currentNodeOf(c) === 'ns-list-b' },
      { query: { nodeId: 'ns-list-d' }, want: (c) => currentNodeOf(c) === 'ns-list-d' },
      { query: { sessionId: session }, want: (c) => c.sessionId === session },
      { query: { groupId: group }, want: (c) => c.groupId === group },
      { query: { from, to }, want: inWindow },
      { query: { from }, want: (c) => c.createdAt >= from },
      { query: { to }, want: (c) => c.createdAt <= to },
      { query: { q: 'NEEDLE' }, want: text },
      { query: { funcName: fn, status: 'DONE' }, want: (c) => c.funcName === fn && c.status === 'DONE' },
      { query: { funcName: other, nodeId: 'ns-list-a', from, to }, want: (c) => c.funcName === other && currentNodeOf(c) === 'ns-list-a' && inWindow(c) },
      { query: { sessionId: session, status: 'PENDING', q: 'hay' }, want: (c) => c.sessionId === session && c.status === 'PENDING' && JSON.stringify(c.params).includes('hay') },
      { query: { deadLetter: false, nodeId: 'ns-list-c' }, want: (c) => currentNodeOf(c) === 'ns-list-c' },
    ];
  }

  async function expectEveryList(db: DbClient): Promise<void> {
    for (const { query, want } of cases()) {
      const expected = newestFirst(calls.filter(want));
      expect(expected.length, JSON.stringify(query)).toBeGreaterThan(0);
      for (const limit of [1, 7, 1000]) {
        const { ids } = await listAll(db, query, limit);
        expect({ query, limit, ids }).toEqual({ query, limit, ids: expected });
      }
    }
  }

  it('answers exactly the matching calls, newest first, across pages', async () => {
    await expectEveryList(run.db);
    // Filters checked one entry at a time read at most 10 a request: a rare match takes pages.
    const { ids, pages } = await listAll(run.db, { q: 'needle', funcName: fn }, 5);
    expect(ids).toEqual(newestFirst(calls.filter((c) => c.funcName === fn && JSON.stringify(c.params).includes('Needle'))));
    expect(pages).toBeGreaterThanOrEqual(calls.filter((c) => c.funcName === fn).length / Number(SCAN_MAX));
  });

  it('answers the same after a restart', async () => {
    await run.stop();
    run = await startDb(dir, { ...storeEnv, FERRY_LIST_SCAN_MAX: SCAN_MAX });
    await expectEveryList(run.db);
  });
});

describe('DB node index backfill (LevelDB)', () => {
  it('gives calls stored before the node index their entries, and lists them by node', async () => {
    const { dir, cleanup } = await makeTempDir();
    // Calls as an earlier Ferry stored them: every index but the node's, and no index version mark.
    const store = await Store.open(path.join(dir, 'db'), { sync: false });
    const stored: Call[] = [];
    for (let i = 0; i < 25; i++) {
      const callNum = store.nextCallNum();
      store.countStatus(null, 'DONE');
      const nodeId = nodes[i % 2]!;
      const now = Date.now();
      const call = callRecord({
        id: `legacy-${callNum}-${nanoid(6)}`,
        callNum,
        funcName: 'ns-legacy',
        status: 'DONE',
        workerId: nodeId,
        createdAt: now,
        finishedAt: now,
        executions: [{ executionId: `x.1`, attempt: 1, nodeId, state: 'DONE', createdAt: now, startedAt: now, updatedAt: now, finishedAt: now, progress: null, metrics: null, failureReason: null }],
      });
      const pad = padCallNum(callNum);
      await store.write([
        { type: 'put', key: `c!${call.id}`, value: call },
        { type: 'put', key: `n!${pad}`, value: call.id },
        { type: 'put', key: `if!ns-legacy!${pad}`, value: call.id },
        { type: 'put', key: `is!DONE!${pad}`, value: call.id },
      ]);
      stored.push(call);
    }
    await store.close();

    let run = await startDb(dir);
    try {
      // Queued behind the pass that ran at start, which backfills the indexes first.
      await run.db.call('purgeExpired', {});
      for (const node of nodes.slice(0, 2)) {
        const want = newestFirst(stored.filter((c) => currentNodeOf(c) === node));
        expect((await listAll(run.db, { nodeId: node }, 4)).ids).toEqual(want);
        expect((await listAll(run.db, { nodeId: node, funcName: 'ns-legacy' }, 4)).ids).toEqual(want);
      }
      await run.stop();
      run = await startDb(dir);
      expect((await listAll(run.db, { nodeId: nodes[0]! }, 100)).ids).toEqual(newestFirst(stored.filter((c) => currentNodeOf(c) === nodes[0])));
    } finally {
      await run.stop();
      await cleanup();
    }
  });
});

describe.skipIf(!existsSync(FAKETIME_LIB))('DB call times with a clock that steps back (libfaketime)', () => {
  it('never dates a call before the one made before it, across a restart, and lists time windows right', async () => {
    const { dir, cleanup } = await makeTempDir();
    let run = await startDb(dir);
    try {
      const make = async (n: number): Promise<Call[]> => {
        const out: Call[] = [];
        for (let i = 0; i < n; i++) out.push(await run.db.call('createCall', { id: nanoid(), funcName: 'ns-clock', version: 1 }));
        return out;
      };
      const before = await make(5);
      await run.stop();
      // Only the wall clock is set back: timers run on the monotonic clock, which stays right.
      run = await startDb(dir, { LD_PRELOAD: FAKETIME_LIB, FAKETIME: '-2d', FAKETIME_DONT_FAKE_MONOTONIC: '1' });
      const after = await make(5);
      const all = [...before, ...after];
      expect(after.every((c) => c.createdAt === before.at(-1)!.createdAt)).toBe(true);
      expect(all.map((c) => c.createdAt)).toEqual(all.map((c) => c.createdAt).sort((a, b) => a - b));
      for (const query of [{ from: before[2]!.createdAt }, { to: before[3]!.createdAt }, { from: before[1]!.createdAt, to: before[3]!.createdAt }]) {
        const want = all.filter((c) => c.createdAt >= (query.from ?? 0) && c.createdAt <= (query.to ?? Infinity));
        expect((await listAll(run.db, { funcName: 'ns-clock', ...query }, 2)).ids).toEqual(newestFirst(want));
      }
    } finally {
      await run.stop();
      await cleanup();
    }
  });
});
