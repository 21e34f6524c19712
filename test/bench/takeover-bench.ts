import { http } from '../helpers/http.js';
import { startLocalPostgres } from '../helpers/postgres.js';
import { waitUntil } from '../helpers/temp.js';
import { fakeRuntime, pushFakeFunction, startTwoApiCluster } from '../helpers/two-api-cluster.js';
import type { Row } from './table.js';

export interface TakeoverFigures {
  /** From the kill -9 of the scheduling api to the standby holding the lease, ms (median of the rounds). */
  takeover_lease_ms: number;
  /** From the kill to the first call the survivor accepted, ms. */
  takeover_first_accept_ms: number;
  /** From the kill to the end of every call accepted before it (those in flight adopted or run again), ms. */
  takeover_all_done_ms: number;
  takeover_lease_setting_ms: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

const LEASE_MS = 3_000;

/**
 * Two api daemons on one PostgreSQL store, two fake nodes, eight clients sending async calls to
 * both; kill -9 of the scheduling api, then how long until the standby schedules, accepts and has
 * ended every call accepted before the kill.
 */
export async function takeoverFigures(quick: boolean, say: (what: string) => void): Promise<TakeoverFigures> {
  const pg = await startLocalPostgres();
  const lease: number[] = [];
  const firstAccept: number[] = [];
  const allDone: number[] = [];
  try {
    for (let round = 0; round < (quick ? 1 : 3); round++) {
      say(`take-over round ${round + 1}`);
      const c = await startTwoApiCluster({
        postgresUrl: pg.url,
        apiEnv: { FERRY_LOG_LEVEL: 'info', FERRY_SCHEDULER_LEASE_MS: String(LEASE_MS) },
        workerEnv: { FERRY_FAKE_DELAY_MS: '100-300', FERRY_MAX_CONTAINERS: '4', FERRY_LOG_LEVEL: 'info' },
      });
      try {
        await Promise.all(['tk-n1', 'tk-n2'].map((id) => c.startWorker(id)));
        const urls = c.hosts.map((h) => h.url);
        await waitUntil(async () => (await http<{ nodes: number }>('GET', `${urls[1]}/healthz`)).body.nodes === 2, 'both nodes joined both apis', 30_000);
        await http('POST', `${urls[0]}/v1/runtimes`, fakeRuntime('tk-fake'));
        await pushFakeFunction(urls[0]!, 'tk-echo', 'tk-fake');
        const before = new Set<string>();
        let killedAt = 0;
        let firstAfter = 0;
        let stop = false;
        // A steady load below the nodes' capacity (8 slots, 200 ms a call: 40/s), so the calls
        // in flight at the kill are what the survivor takes over, not a backlog.
        const client = async (k: number): Promise<void> => {
          for (let i = 0; !stop; i++) {
            const sentAt = Date.now();
            const r = await http<{ id: string }>('POST', `${urls[(k + i) % 2]}/v1/functions/tk-echo/invoke`, { k, i }).catch(() => null);
            if (r?.status === 202) {
              if (killedAt === 0) before.add(r.body.id);
              else if (firstAfter === 0 && sentAt > killedAt) firstAfter = Date.now();
            }
            await new Promise((done) => setTimeout(done, 300));
          }
        };
        const clients = Array.from({ length: 8 }, (_, k) => client(k));
        await waitUntil(() => before.size >= 100, '100 calls accepted', 60_000);
        killedAt = Date.now();
        await c.hosts[0].api.kill('SIGKILL');
        await waitUntil(() => firstAfter > 0, 'the survivor accepted a call', 60_000);
        stop = true;
        await Promise.all(clients);
        const survivor = c.hosts[1];
        await waitUntil(
          async () => {
            const left = await Promise.all([...before].slice(0, 1000).map((id) => http<{ status: string }>('GET', `${survivor.url}/v1/calls/${id}`)));
            return left.every((r) => r.body.status === 'DONE');
          },
          'every call accepted before the kill is DONE',
          60_000,
        );
        const done = Date.now();
        const took = survivor.api.logs.find((l) => l['msg'] === 'scheduling: this api holds the lease');
        lease.push(Number(took?.['time']) - killedAt);
        firstAccept.push(firstAfter - killedAt);
        allDone.push(done - killedAt);
      } finally {
        await c.close();
      }
    }
  } finally {
    pg.stop();
  }
  return { takeover_lease_ms: median(lease), takeover_first_accept_ms: median(firstAccept), takeover_all_done_ms: median(allDone), takeover_lease_setting_ms: LEASE_MS };
}

export function takeoverRows(f: TakeoverFigures): Row[] {
  const anchor = `lease ${f.takeover_lease_setting_ms} ms, renewed every ${Math.floor(f.takeover_lease_setting_ms / 3)} ms`;
  return [
    ['take-over: kill -9 of the scheduling api → standby holds the lease', `${f.takeover_lease_ms.toFixed(0)} ms`, '≤ 5000 ms', anchor],
    ['take-over: kill -9 → first call accepted again', `${f.takeover_first_accept_ms.toFixed(0)} ms`, '≤ 5000 ms', ''],
    ['take-over: kill -9 → every call accepted before it DONE', `${f.takeover_all_done_ms.toFixed(0)} ms`, '', 'calls of 100-300 ms on 2 fake nodes'],
  ];
}
