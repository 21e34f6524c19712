import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Call } from '../../shared/protocol/domain.js';
import type { SessionView } from '../../shared/protocol/session-view.js';
import { makeBundle } from '../helpers/bundles.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { runFerry, type Ran } from '../helpers/ferry-cli.js';
import { http, upload } from '../helpers/http.js';
import { waitUntil } from '../helpers/temp.js';

const ID = /^[A-Za-z0-9]{21}$/;
/** A runtime no node could run for real: on a fake node that does not matter. */
const unrunnable = { name: 'ss-cli-nowhere', image: 'ferry-test/never-built', path: '/ws', run: 'sh main.sh', protocol: 'exec' };

// Sessions as a user drives them from the CLI, on a real cluster with one fake node (id `ss-…`).
describe('ferry session create, add, start, kill, show, results', () => {
  let c: Cluster;
  const ferry = (...args: string[]): Promise<Ran> => runFerry(c.url, args);
  const shown = async (id: string): Promise<SessionView> => JSON.parse((await ferry('session', 'show', id, '--json')).stdout) as SessionView;

  beforeAll(async () => {
    c = await startCluster();
    await c.startWorker(`ss-cli-${Math.random().toString(36).slice(2, 8)}`, { FERRY_DRIVER: 'fake', FERRY_MAX_CONTAINERS: '4', FERRY_FAKE_DELAY_MS: '5-50' });
    expect((await http('POST', `${c.url}/v1/runtimes`, unrunnable)).status).toBe(201);
    const b = await makeBundle(c.dir, 'ss-cli-echo', { 'main.sh': 'exit 3\n' });
    expect((await upload(`${c.url}/v1/functions/ss-cli-echo`, b.file, { runtime: unrunnable.name })).status).toBe(201);
  });
  afterAll(async () => c?.close());

  it('makes, fills, starts and pages a session, then kills it', async () => {
    const created = await ferry('session', 'create');
    expect(created.code, created.stderr).toBe(0);
    const id = created.stdout.trim();
    expect(id).toMatch(ID);

    const added = await ferry('session', 'add', id, 'ss-cli-echo', '-n', '3', '-p', 'n=1');
    expect(added.code, added.stderr).toBe(0);
    const ids = added.stdout.trim().split('\n');
    expect(ids).toHaveLength(3);
    expect(await shown(id)).toMatchObject({ state: 'open', total: 3, counts: { HELD: 3 } });

    expect((await ferry('session', 'start', id)).stdout).toMatch(new RegExp(`^session ${id}: (started|finished) — `));
    await waitUntil(async () => (await shown(id)).state === 'finished', `session ${id} finished`, 30_000);

    const page = JSON.parse((await ferry('session', 'results', id, '--json')).stdout) as { page: number; calls: Call[] };
    expect(page.page).toBe(1);
    expect(page.calls.map((call) => call.id).sort()).toEqual([...ids].sort());
    const again = JSON.parse((await ferry('session', 'results', id, '--page', '1', '--json')).stdout) as { calls: Call[] };
    expect(again.calls.map((call) => call.id)).toEqual(page.calls.map((call) => call.id));
    expect((await ferry('session', 'results', id)).stdout).toContain('no call ended since the last page');

    expect((await ferry('session', 'show')).stdout).toContain(id);
    expect((await ferry('session', 'kill', id)).stdout).toMatch(new RegExp(`^session ${id}: killed — `));
    const refused = await ferry('session', 'add', id, 'ss-cli-echo');
    expect(refused.code).toBe(1);
    expect((await ferry('session', 'add', id, 'ss-cli-echo', '-n', '0')).code).toBe(2);
  }, 60_000);
});
