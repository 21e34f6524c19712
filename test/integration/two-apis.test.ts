import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Call } from '../../shared/protocol/domain.js';
import { http } from '../helpers/http.js';
import { everyPage } from '../helpers/pages.js';
import { waitUntil } from '../helpers/temp.js';
import { fakeRuntime, pushFakeFunction, startTwoApiCluster, type TwoApiCluster } from '../helpers/two-api-cluster.js';

/**
 * Two api daemons, each with its own db daemon, on one PostgreSQL store; workers connected to
 * both. One schedules (it holds the lease), the other stands by and passes requests on; killed
 * with -9, the scheduling api's calls are taken over by the other, and every call either api
 * accepted ends exactly once. Fake nodes (`ta-` ids): the scheduling is what is under test.
 */

const runtime = fakeRuntime('ta-fake');

async function storedCalls(storeUrl: string, funcName: string): Promise<Map<string, Call>> {
  const client = new pg.Client({ connectionString: storeUrl });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT record FROM ferry_calls WHERE func_name = $1', [funcName]);
    return new Map(rows.map((row) => [(row.record as Call).id, row.record as Call]));
  } finally {
    await client.end();
  }
}

describe('two api daemons on one PostgreSQL store', () => {
  let c: TwoApiCluster;

  beforeAll(async () => {
    // Calls take 100-300 ms on 2 fake nodes of 4: a steady load keeps calls in flight at the kill.
    c = await startTwoApiCluster({ workerEnv: { FERRY_FAKE_DELAY_MS: '100-300', FERRY_MAX_CONTAINERS: '4' } });
    await Promise.all(['ta-n1', 'ta-n2'].map((id) => c.startWorker(id)));
    const [a, b] = c.hosts.map((h) => h.url);
    await waitUntil(async () => (await http<{ nodes: number }>('GET', `${a}/healthz`)).body.nodes === 2, 'both nodes joined the scheduling api');
    await waitUntil(async () => (await http<{ nodes: number }>('GET', `${b}/healthz`)).body.nodes === 2, 'both nodes joined the standby api');
    expect((await http('POST', `${a}/v1/runtimes`, runtime)).status).toBe(201);
    const pushed = await pushFakeFunction(b!, 'ta-echo', runtime.name);
    expect(pushed.status, pushed.text).toBe(201);
  });
  afterAll(async () => {
    await c?.close();
  });

  it('one schedules; the other stands by and answers every request through it', async () => {
    const [a, b] = c.hosts.map((h) => h.url) as [string, string];
    expect(await c.scheduling()).toBe(0);
    expect((await http<{ scheduling: boolean }>('GET', `${b}/healthz`)).body.scheduling).toBe(false);
    const sync = await http<Call>('POST', `${b}/v1/functions/ta-echo/invoke?wait=true`, { via: 'standby' });
    expect(sync.status, sync.text).toBe(200);
    expect(sync.body).toMatchObject({ status: 'DONE', result: JSON.stringify({ via: 'standby' }) });
    expect(sync.headers.get('x-ferry-passed-on')).toBe(a);
    // Reads from the store: each api answers them itself.
    for (const url of [a, b]) {
      const read = await http<Call>('GET', `${url}/v1/calls/${sync.body.id}`);
      expect(read.body).toMatchObject({ id: sync.body.id, status: 'DONE' });
      expect(read.headers.get('x-ferry-passed-on')).toBeNull();
    }
    // An error comes back as the scheduling api answered it.
    const missing = await http<{ error: { code: string } }>('POST', `${b}/v1/functions/ta-nothing/invoke`, {});
    expect([missing.status, missing.body.error.code]).toEqual([404, 'NOT_FOUND']);
  });

  it('kill -9 of the scheduling api under load spread over both: the other takes over, and every accepted call ends exactly once', async () => {
    const urls = c.hosts.map((h) => h.url);
    const accepted = new Map<string, string>();
    let refused = 0;
    let stop = false;
    let afterKill = 0;
    let killed = false;
    // Eight clients, each sending to both apis in turn; an api that does not answer (killed) or
    // answers 503 (no api schedules yet) did not accept the call, so the client goes on.
    const client = async (k: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const url = urls[(k + i) % 2]!;
        const r = await http<{ id: string }>('POST', `${url}/v1/functions/ta-echo/invoke`, { k, i }).catch(() => null);
        if (r?.status === 202) {
          accepted.set(r.body.id, url);
          if (killed) afterKill += 1;
        } else {
          refused += 1;
          // As a client honouring the 503's Retry-After would, if sooner.
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    };
    const clients = Array.from({ length: 8 }, (_, k) => client(k));
    await waitUntil(() => accepted.size >= 150, '150 calls accepted before the kill', 60_000);
    const leader = await c.scheduling();
    expect(leader).toBe(0);
    const killedAt = Date.now();
    await c.hosts[0].api.kill('SIGKILL');
    killed = true;
    await waitUntil(() => afterKill >= 150, 'the standby took over and accepted 150 calls more', 60_000);
    stop = true;
    await Promise.all(clients);
    expect(await c.scheduling()).toBe(1);
    const survivor = c.hosts[1];
    const tookOver = survivor.api.logs.find((l) => l['msg'] === 'scheduling: this api holds the lease' && l['epoch'] === 2);
    expect(tookOver).toBeDefined();

    await waitUntil(
      async () => {
        const listed = new Map((await everyPage<Call>(`${survivor.url}/v1/calls?funcName=ta-echo&limit=1000`, 'calls')).map((call) => [call.id, call.status]));
        return [...accepted.keys()].every((id) => listed.get(id) === 'DONE');
      },
      'every accepted call is DONE',
      120_000,
    );
    // Each call's whole record, executions too, as the store holds it.
    const ended = await storedCalls(c.storeUrl, 'ta-echo');
    const wrong = [...accepted.keys()].flatMap((id) => {
      const call = ended.get(id)!;
      const ends = (call.executions ?? []).filter((e) => e.state === 'DONE');
      const rightResult = call.result === JSON.stringify(call.params);
      return ends.length === 1 && rightResult ? [] : [{ id, attempt: call.attempt, executions: (call.executions ?? []).map((e) => [e.attempt, e.nodeId, e.state]) }];
    });
    expect(wrong.slice(0, 3)).toEqual([]);
    expect(wrong).toHaveLength(0);
    console.log(
      `two apis: ${accepted.size} calls accepted (${refused} requests refused while no api scheduled), every one DONE once; ` +
        `the standby held the lease ${Number(tookOver!['time']) - killedAt} ms after the kill`,
    );
  });
});
