import { nanoid } from 'nanoid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDbClient, type DbClient } from '../../../shared/clients/db-client.js';
import { FerryError } from '../../../shared/errors.js';
import type { Call } from '../../../shared/protocol/domain.js';
import { encodeFrames } from '../../../shared/protocol/envelope.js';
import { curveTo } from '../../helpers/curve.js';
import { spawnDaemon, type DaemonProcess } from '../../helpers/daemon.js';
import { rawPeer } from '../../helpers/raw-peer.js';
import { storesUnderTest } from '../../helpers/stores.js';
import { makeTempDir } from '../../helpers/temp.js';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof FerryError) return err.code;
    throw err;
  }
  throw new Error('expected the request to fail');
}

describe.each(storesUnderTest())('DB daemon (real process) on $name', (store) => {
  let daemon: DaemonProcess;
  let db: DbClient;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const tmp = await makeTempDir();
    cleanup = tmp.cleanup;
    daemon = await spawnDaemon('db', { FERRY_DATA_DIR: tmp.dir, FERRY_DB_BIND: 'tcp://127.0.0.1:*', ...(await store.fresh()) });
    db = createDbClient({ dbAddr: daemon.endpoint, requestTimeoutMs: 5_000, requestRetries: 0 }, curveTo(daemon.endpoint));
  });
  afterAll(async () => {
    await db?.close();
    await daemon?.kill();
    await cleanup?.();
  });

  it('registers runtimes, named by image by default, and refuses to delete one in use', async () => {
    const rt = await db.call('registerRuntime', { image: 'pythonruntime', run: 'python3 test.py', dependencies: 'pip3 install -r requirements.txt' });
    expect(rt).toMatchObject({ name: 'pythonruntime', image: 'pythonruntime', path: '/ws', protocol: 'exec' });
    await db.call('registerRuntime', { name: 'py2', image: 'pythonruntime', run: 'python3 main.py', protocol: 'agent' });
    expect((await db.call('listRuntimes', {})).map((r) => r.name).sort()).toEqual(['py2', 'pythonruntime']);
    expect((await db.call('getRuntime', { name: 'py2' })).protocol).toBe('agent');

    await db.call('putFunction', { name: 'uses-py2', runtime: 'py2', sha256: 'a'.repeat(64), size: 1 });
    expect(await codeOf(db.call('deleteRuntime', { name: 'py2' }))).toBe('IN_USE');
    await db.call('deleteFunction', { name: 'uses-py2' });
    expect(await db.call('deleteRuntime', { name: 'py2' })).toEqual({ deleted: true });
    expect(await codeOf(db.call('getRuntime', { name: 'py2' }))).toBe('NOT_FOUND');
    expect(await codeOf(db.call('deleteRuntime', { name: 'nope' }))).toBe('NOT_FOUND');
  });

  it('versions functions: latest, pinned, name@version, and numbers never reused after a delete', async () => {
    for (const ch of ['1', '2', '3']) {
      await db.call('putFunction', { name: 'dice', runtime: 'pythonruntime', sha256: ch.repeat(64), size: 10 });
    }
    expect((await db.call('getFunction', { name: 'dice' })).version).toBe(3);
    expect((await db.call('getFunction', { name: 'dice', version: 2 })).sha256).toBe('2'.repeat(64));
    expect((await db.call('getFunction', { name: 'dice@1' })).sha256).toBe('1'.repeat(64));
    expect(await codeOf(db.call('getFunction', { name: 'dice@x' }))).toBe('BAD_REQUEST');
    expect(await codeOf(db.call('getFunction', { name: 'dice@9' }))).toBe('NOT_FOUND');
    expect((await db.call('listFunctionVersions', { name: 'dice' })).map((f) => f.version)).toEqual([1, 2, 3]);
    expect(await codeOf(db.call('putFunction', { name: 'x', runtime: 'missing', sha256: 'a'.repeat(64), size: 1 }))).toBe('NOT_FOUND');

    await db.call('putFunction', { name: 'other', runtime: 'pythonruntime', sha256: 'b'.repeat(64), size: 1 });
    const latest = await db.call('listFunctions', {});
    expect(latest.find((f) => f.name === 'dice')?.version).toBe(3);
    expect(latest.find((f) => f.name === 'other')?.version).toBe(1);

    expect(await db.call('deleteFunction', { name: 'other' })).toEqual({ deletedVersions: 1 });
    expect(await codeOf(db.call('getFunction', { name: 'other' }))).toBe('NOT_FOUND');
    const again = await db.call('putFunction', { name: 'other', runtime: 'pythonruntime', sha256: 'c'.repeat(64), size: 1 });
    expect(again.version).toBe(2);
  });

  it('creates calls with monotonic callNums; a resent create answers the same call', async () => {
    const id = nanoid();
    const a = await db.call('createCall', { id, funcName: 'dice', version: 3, params: { roll: '4d6' } });
    const b = await db.call('createCall', { id: nanoid(), funcName: 'dice', version: 3 });
    expect(a).toMatchObject({ id, status: 'PENDING', attempt: 1, params: { roll: '4d6' }, result: '' });
    expect(b.callNum).toBe(a.callNum + 1);
    const again = await db.call('createCall', { id, funcName: 'dice', version: 3 });
    expect(again.callNum).toBe(a.callNum);
    const c = await db.call('createCall', { id: nanoid(), funcName: 'dice', version: 3 });
    expect(c.callNum).toBe(b.callNum + 1);
    expect((await db.call('getCall', { callNum: a.callNum })).id).toBe(id);
    expect((await db.call('getCall', { id })).callNum).toBe(a.callNum);
    expect(await codeOf(db.call('getCall', { id: 'missing-call' }))).toBe('NOT_FOUND');
  });

  it('compare-and-set: a stale writer loses and the record is unchanged', async () => {
    const call = await db.call('createCall', { id: nanoid(), funcName: 'dice', version: 3 });
    const running = await db.call('updateCall', {
      id: call.id,
      expect: { status: 'PENDING', attempt: 1 },
      set: { status: 'RUNNING', workerId: 'n1', startedAt: 1 },
    });
    expect(running).toMatchObject({ status: 'RUNNING', workerId: 'n1' });

    const stale = db.call('updateCall', { id: call.id, expect: { status: 'RUNNING', attempt: 2 }, set: { status: 'DONE' } });
    await expect(stale).rejects.toMatchObject({ code: 'CONFLICT', retryable: false });
    expect(await codeOf(db.call('updateCall', { id: call.id, expect: { status: ['PENDING', 'DONE'] }, set: { status: 'ERROR' } }))).toBe('CONFLICT');
    expect((await db.call('getCall', { id: call.id })).status).toBe('RUNNING');

    const racers = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        db.call('updateCall', { id: call.id, expect: { status: 'RUNNING', attempt: 1 }, set: { status: 'DONE', result: `r${i}` } }),
      ),
    );
    expect(racers.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const winner = racers.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ result: string }>;
    expect((await db.call('getCall', { id: call.id })).result).toBe(winner.value.result);
  });

  it('lists calls newest first with filters, and pages stably while calls keep arriving', async () => {
    const session = `s${nanoid(6)}`;
    const fn = `pager-${nanoid(4).toLowerCase().replace(/[^a-z0-9]/g, 'x')}`;
    await db.call('putFunction', { name: fn, runtime: 'pythonruntime', sha256: 'd'.repeat(64), size: 1 });
    const made: Call[] = [];
    for (let i = 0; i < 25; i++) {
      made.push(await db.call('createCall', { id: nanoid(), funcName: fn, version: 1, sessionId: i % 2 === 0 ? session : undefined }));
    }
    await db.call('updateCall', { id: made[3]!.id, expect: { status: 'PENDING' }, set: { status: 'DONE' } });

    const seen: number[] = [];
    let cursor: string | undefined;
    let inserted = 0;
    do {
      const page = await db.call('listCalls', { funcName: fn, limit: 7, cursor });
      seen.push(...page.calls.map((c) => c.callNum));
      // Calls created mid-paging are newer than the cursor: they must not shift the pages.
      await Promise.all(Array.from({ length: 5 }, () => db.call('createCall', { id: nanoid(), funcName: fn, version: 1 })));
      inserted += 5;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(made.map((c) => c.callNum).reverse());
    expect(inserted).toBeGreaterThan(0);

    const bySession = await db.call('listCalls', { sessionId: session, limit: 100 });
    expect(bySession.calls.map((c) => c.callNum)).toEqual(made.filter((_, i) => i % 2 === 0).map((c) => c.callNum).reverse());
    const done = await db.call('listCalls', { funcName: fn, status: 'DONE' });
    expect(done.calls.map((c) => c.id)).toEqual([made[3]!.id]);
    const pending = await db.call('listCalls', { status: 'PENDING', funcName: fn, limit: 1000 });
    expect(pending.calls.some((c) => c.id === made[3]!.id)).toBe(false);
    const counters = await db.call('getCounters', {});
    expect(counters.callsByStatus.DONE).toBeGreaterThanOrEqual(1);
    expect(counters.lastCallNum).toBeGreaterThanOrEqual(made[24]!.callNum);
  });

  it('keeps 2,000 requests in flight over one socket', async () => {
    const calls = await Promise.all(Array.from({ length: 2_000 }, () => db.call('createCall', { id: nanoid(), funcName: 'dice', version: 1 })));
    const nums = new Set(calls.map((c) => c.callNum));
    expect(nums.size).toBe(2_000);
  });

  it('answers bad input with typed errors and keeps serving', async () => {
    const raw = rawPeer(daemon.endpoint);
    const ask = raw.ask;
    try {
      expect(await ask([Buffer.from('HTTP/1.1'), Buffer.from('x')])).toBe('UNSUPPORTED_PROTOCOL');
      expect(await ask([Buffer.from('FERRY01')])).toBe('BAD_FRAME');
      expect(await ask([Buffer.from('FERRY01'), Buffer.from([0xc1, 0xff, 0x00])])).toBe('BAD_FRAME');
      expect(await ask(encodeFrames({ id: 'r1', msgType: 'dropTables', content: {} }))).toBe('UNKNOWN_MSG_TYPE');
      expect(await ask(encodeFrames({ id: 'r2', msgType: 'createCall', content: { id: nanoid(), version: 1 } }))).toBe('BAD_REQUEST');
      expect(await ask(encodeFrames({ id: 'r3', msgType: 'listCalls', content: { limit: 0 } }))).toBe('BAD_REQUEST');
      expect(await ask(encodeFrames({ id: 'r4', msgType: 'ping', content: {} }))).toBe('ok');
    } finally {
      raw.close();
    }
    expect((await db.call('ping', {})).now).toBeGreaterThan(0);
  });
});

describe.each(storesUnderTest())('DB daemon durability on $name', (store) => {
  it('keeps every acknowledged write across kill -9 and restart', async () => {
    const { dir, cleanup } = await makeTempDir();
    const env = { FERRY_DATA_DIR: dir, FERRY_DB_BIND: 'tcp://127.0.0.1:*', ...(await store.fresh()) };
    let daemon = await spawnDaemon('db', env);
    let db = createDbClient({ dbAddr: daemon.endpoint, requestTimeoutMs: 5_000, requestRetries: 0 }, curveTo(daemon.endpoint));
    try {
      await db.call('registerRuntime', { image: 'rt', run: 'true' });
      const acked = new Map<string, { callNum: number; status: string; result: string }>();
      await Promise.all(
        Array.from({ length: 300 }, async (_, i) => {
          const c = await db.call('createCall', { id: nanoid(), funcName: 'f', version: 1, params: { i } });
          acked.set(c.id, { callNum: c.callNum, status: c.status, result: '' });
          if (i % 2 === 0) {
            const u = await db.call('updateCall', { id: c.id, expect: { status: 'PENDING' }, set: { status: 'DONE', result: `r${i}` } });
            acked.set(c.id, { callNum: u.callNum, status: u.status, result: u.result });
          }
        }),
      );
      await daemon.kill('SIGKILL');
      await db.close();

      daemon = await spawnDaemon('db', env);
      db = createDbClient({ dbAddr: daemon.endpoint, requestTimeoutMs: 5_000, requestRetries: 0 }, curveTo(daemon.endpoint));
      for (const [id, want] of acked) {
        const got = await db.call('getCall', { id });
        expect({ callNum: got.callNum, status: got.status, result: got.result }).toEqual(want);
      }
      expect((await db.call('getRuntime', { name: 'rt' })).image).toBe('rt');
      const maxNum = Math.max(...[...acked.values()].map((v) => v.callNum));
      const next = await db.call('createCall', { id: nanoid(), funcName: 'f', version: 1 });
      expect(next.callNum).toBeGreaterThan(maxNum);
    } finally {
      await db.close();
      await daemon.kill();
      await cleanup();
    }
  });
});
