import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail, RunView } from '../../shared/protocol/run-view.js';
import { makeBundle } from '../helpers/bundles.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { runFerry, type Ran } from '../helpers/ferry-cli.js';
import { http, upload } from '../helpers/http.js';

const ID = /^[A-Za-z0-9]{21}$/;
/** A runtime no node could run for real: on a fake node that does not matter. */
const unrunnable = { name: 'rn-cli-nowhere', image: 'ferry-test/never-built', path: '/ws', run: 'sh main.sh', protocol: 'exec' };

// Runs as a user drives them from the CLI, on a real cluster with one fake node (id `rn-…`).
describe('ferry run, runs, run-show', () => {
  let c: Cluster;
  const ferry = (...args: string[]): Promise<Ran> => runFerry(c.url, args);

  async function deploy(name: string, fields: Record<string, string> = {}): Promise<void> {
    const b = await makeBundle(c.dir, name, { 'main.sh': 'exit 3\n' });
    const r = await upload(`${c.url}/v1/functions/${name}`, b.file, { runtime: unrunnable.name, ...fields });
    expect(r.status, r.text).toBe(201);
  }

  beforeAll(async () => {
    c = await startCluster();
    await c.startWorker(`rn-cli-${Math.random().toString(36).slice(2, 8)}`, { FERRY_DRIVER: 'fake', FERRY_MAX_CONTAINERS: '4', FERRY_FAKE_DELAY_MS: '20-60' });
    expect((await http('POST', `${c.url}/v1/runtimes`, unrunnable)).status).toBe(201);
    await deploy('rn-cli-echo');
    await deploy('rn-cli-late', { timeoutMs: '1' });
  });
  afterAll(async () => c?.close());

  it('runs a function N times and follows it to COMPLETE (exit 0); runs and run-show show it', async () => {
    const ran = await ferry('run', 'rn-cli-echo', '--times', '5', '-p', 'n=1', '--follow', '--json');
    expect(ran.code, ran.stderr).toBe(0);
    const run = JSON.parse(ran.stdout) as RunView;
    expect(run).toMatchObject({ times: 5, status: 'COMPLETE', counts: { DONE: 5 }, function: 'rn-cli-echo@1' });

    const listed = JSON.parse((await ferry('runs', '--json')).stdout) as { runs: RunView[] };
    expect(listed.runs.map((r) => r.id)).toContain(run.id);
    const table = await ferry('runs');
    expect(table.stdout).toContain(run.id);

    const shown = JSON.parse((await ferry('run-show', run.id, '--details', '--json')).stdout) as RunView & { details: RunDetail[] };
    expect(shown.details.map((d) => [d.detailId, d.status])).toEqual([1, 2, 3, 4, 5].map((n) => [n, 'DONE']));
    const text = await ferry('run-show', run.id);
    expect(text.stdout).toMatch(new RegExp(`^run ${run.id}: COMPLETE — 5 DONE of 5, `));
  });

  it('prints the run id without --follow; a run that does not end COMPLETE exits 1; bad --times is a usage error', async () => {
    const started = await ferry('run', 'rn-cli-echo', '--times', '2', '-d', '{"a":1}');
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout.trim()).toMatch(ID);

    const late = await ferry('run', 'rn-cli-late', '--times', '3', '--follow');
    expect(late.code).toBe(1);
    expect(late.stdout).toMatch(/: ERROR — 3 TIMEOUT of 3, /);
    expect(late.stderr).toContain('ended ERROR');

    for (const bad of ['0', '10001', 'many']) expect((await ferry('run', 'rn-cli-echo', '--times', bad)).code).toBe(2);
    expect((await ferry('run-show', 'nosuchrun000')).code).toBe(1);
  });
});
