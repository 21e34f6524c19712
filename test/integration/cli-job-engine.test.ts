import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Call, FunctionVersion } from '../../shared/protocol/domain.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { runFerry, type Ran } from '../helpers/ferry-cli.js';
import { repoDir } from '../helpers/fixtures.js';
import { http } from '../helpers/http.js';
import { waitUntil } from '../helpers/temp.js';

const fixture = (name: string): string => path.join(repoDir, 'test', 'fixtures', 'functions', name);
const ID = /^[A-Za-z0-9]{21}$/;
const FINISHED = new Set(['DONE', 'ERROR', 'TIMEOUT', 'KILLED', 'CANCELLED']);

// The job engine as a user drives it from the CLI: held calls, retries, dead letters,
// idempotency keys and the retry policy of a push, against a real cluster with one node.
describe('ferry job-engine commands', () => {
  let c: Cluster;
  const ferry = (...args: string[]): Promise<Ran> => runFerry(c.url, args);
  const getCall = async (ref: string): Promise<Call> => (await http<Call>('GET', `${c.url}/v1/calls/${ref}`)).body;
  /** `ferry invoke … --async` (or --hold): the call id it printed. */
  const started = async (...args: string[]): Promise<string> => {
    const out = await ferry('invoke', ...args);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout.trim()).toMatch(ID);
    return out.stdout.trim();
  };

  beforeAll(async () => {
    c = await startCluster({ workers: ['c2-node'] });
    expect((await ferry('runtime', 'add', 'pythonruntime', '--name', 'py', '--protocol', 'agent', '--run', 'main.py')).code).toBe(0);
    expect((await ferry('fn', 'deploy', fixture('ok'), '--name', 'echo', '--runtime', 'py')).code).toBe(0);
  });
  afterAll(async () => c?.close());

  it('holds a call until ferry dispatch runs it; dispatching it again exits 1', async () => {
    const held = await ferry('invoke', 'echo', '-p', 'n=1', '--hold');
    expect(held.code, held.stderr).toBe(0);
    expect(held.stderr).toBe('');
    const id = held.stdout.trim();
    expect(id).toMatch(ID);

    const { callNum } = await getCall(id);
    const shown = await ferry('call', id);
    expect(shown.stdout, shown.stderr).toMatch(new RegExp(`\\nstatus +HELD — not run until \`ferry dispatch ${callNum}\`\\n`));
    const listed = JSON.parse((await ferry('calls', '--status', 'held', '--json')).stdout) as { calls: Call[] };
    expect(listed.calls.map((x) => x.id)).toContain(id);

    expect(await ferry('dispatch', id)).toMatchObject({ code: 0, stdout: `dispatched call ${callNum} (${id}): PENDING\n` });
    const waited = await ferry('wait', id);
    expect(waited.code, waited.stderr).toBe(0);
    expect(JSON.parse(waited.stdout)).toEqual({ echo: { n: 1 } });

    const again = await ferry('dispatch', String(callNum));
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('CONFLICT');
  });

  it('cancels a held call; an ended call cannot be cancelled (exit 1)', async () => {
    const id = await started('echo', '--hold');
    const { callNum } = await getCall(id);
    expect(await ferry('cancel', id)).toMatchObject({ code: 0, stdout: `cancelled call ${callNum} (${id}): CANCELLED\n` });
    const again = await ferry('cancel', String(callNum));
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('CONFLICT');
  });

  it('cancels a running call as KILLED', async () => {
    expect((await ferry('fn', 'deploy', fixture('slow'), '--name', 'slow', '--runtime', 'py')).code).toBe(0);
    const id = await started('slow', '-p', 'seconds=600', '--async');
    await waitUntil(async () => (await getCall(id)).status === 'RUNNING', 'the slow call started running', 60_000);
    const { callNum } = await getCall(id);
    expect(await ferry('cancel', String(callNum))).toMatchObject({ code: 0, stdout: `cancelled call ${callNum} (${id}): KILLED\n` });
    expect((await ferry('wait', id)).code).toBe(1);
  }, 90_000);

  it('retries a failing function per its policy, then lists it as a dead letter until ferry retry runs it again', async () => {
    const deployed = await ferry('fn', 'deploy', fixture('throws'), '--name', 'fails', '--runtime', 'py', '--retries', '1', '--backoff', '0');
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(deployed.stdout).toMatch(/^deployed fails@1 \(.*\); 1 retry, no back-off\n$/);
    expect(deployed.stderr).toBe('');

    const id = await started('fails', '--async');
    const failed = await ferry('wait', id);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('ended ERROR');
    const { callNum } = await getCall(id);
    const shown = (await ferry('call', id)).stdout;
    expect(shown).toMatch(/\nfailures +2\n/);
    expect(shown).toContain(`dead letter  yes, its attempts are used up: \`ferry retry ${callNum}\` runs it again`);
    expect((await ferry('calls', '--fn', 'fails')).stdout).toContain('ERROR, dead letter');

    const listed = await ferry('dead-letters', '--fn', 'fails');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(id);
    expect(listed.stdout).toContain('fails@1');
    const asJson = JSON.parse((await ferry('dead-letters', '--fn', 'fails', '--status', 'ERROR', '--json')).stdout) as { calls: Call[]; nextCursor: string | null };
    expect(asJson.calls.map((x) => x.id)).toEqual([id]);
    expect(asJson.calls[0]).toMatchObject({ deadLetter: true, failures: 2 });
    expect((await ferry('dead-letters', '--fn', 'echo')).stdout).toBe('(none)\n');

    expect(await ferry('retry', String(callNum))).toMatchObject({ code: 0, stdout: `retried call ${callNum} (${id}): PENDING\n` });
    expect((await ferry('wait', id)).code).toBe(1);

    // The whole selection at once; it fails again and is a dead letter again.
    expect(await ferry('dead-letters', '--fn', 'fails', '--retry')).toMatchObject({ code: 0, stdout: 'retried 1 dead letter\n' });
    expect((await ferry('wait', id)).code).toBe(1);
    expect(JSON.parse((await ferry('dead-letters', '--fn', 'fails', '--retry', '--json')).stdout)).toEqual({ retried: 1 });
    expect((await ferry('wait', id)).code).toBe(1);
  }, 120_000);

  it('refuses to retry a call that is DONE, and one it does not know', async () => {
    const id = await started('echo', '--async');
    expect((await ferry('wait', id)).code).toBe(0);
    const done = await ferry('retry', id);
    expect(done.code).toBe(1);
    expect(done.stderr).toContain('CONFLICT');
    const unknown = await ferry('retry', '999999');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('NOT_FOUND');
  });

  it('shows a retry waiting out its back-off in ferry call and ferry calls', async () => {
    expect((await ferry('fn', 'deploy', fixture('throws'), '--name', 'waits', '--runtime', 'py', '--retries', '2', '--backoff', '1h')).code).toBe(0);
    const id = await started('waits', '--async');
    // Until it waits out its back-off, or has ended without one (then the next line says so).
    await waitUntil(
      async () => {
        const call = await getCall(id);
        return typeof call.nextAttemptAt === 'number' || FINISHED.has(call.status);
      },
      'the failed call was given a next attempt',
      60_000,
    );
    expect(await getCall(id)).toMatchObject({ status: 'PENDING', nextAttemptAt: expect.any(Number) });
    expect((await ferry('call', id)).stdout).toMatch(/\nretry +next attempt in \d+[smh]\nfailures +1\n/);
    expect((await ferry('calls', '--fn', 'waits')).stdout).toMatch(/PENDING, next attempt in \d+[smh]/);
    expect((await ferry('cancel', id)).stdout).toMatch(/: CANCELLED\n$/);
  }, 90_000);

  it('makes a call once per --idempotency-key, sync or --async, and refuses the key with other params', async () => {
    const key = 'c2-order-42'; // the cluster is this file's own: no earlier call has the key
    const first = await ferry('invoke', 'echo', '-p', 'n=7', '--async', '--idempotency-key', key);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toBe('');
    const id = first.stdout.trim();

    const replay = await ferry('invoke', 'echo', '-p', 'n=7', '--async', '--idempotency-key', key);
    expect(replay).toMatchObject({ code: 0, stdout: `${id}\n` });
    expect(replay.stderr).toContain('replayed: the call made first with this key');

    const sync = await ferry('invoke', 'echo', '-p', 'n=7', '--idempotency-key', key);
    expect(sync.code, sync.stderr).toBe(0);
    expect(JSON.parse(sync.stdout)).toEqual({ echo: { n: 7 } });
    expect(sync.stderr).toContain('replayed: the call made first with this key');

    const clash = await ferry('invoke', 'echo', '-p', 'n=8', '--idempotency-key', key);
    expect(clash.code).toBe(1);
    expect(clash.stderr).toContain('IDEMPOTENCY_CONFLICT');

    expect((await ferry('call', id)).stdout).toMatch(new RegExp(`\\nidempotency +${key}\\n`));
    const calls = JSON.parse((await ferry('calls', '--fn', 'echo', '--limit', '1000', '--json')).stdout) as { calls: Call[] };
    expect(calls.calls.filter((x) => x.idempotencyKey === key).map((x) => x.id)).toEqual([id]);
  });

  it('deploys a retry policy and stuckAfterMs, and ferry fn ls and versions show them', async () => {
    const args = ['--retries', '2', '--backoff', '500ms', '--backoff-factor', '1.5', '--max-backoff', '5m', '--stuck-after', '30s'];
    const deployed = await ferry('fn', 'deploy', fixture('ok'), '--name', 'policy', '--runtime', 'py', ...args);
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(deployed.stdout).toMatch(/^deployed policy@1 \(.*\); 2 retries, back-off 500ms ×1\.5 up to 5m; stuck after 30s\n$/);
    expect(deployed.stderr).toBe('');

    const { functions } = JSON.parse((await ferry('fn', 'ls', '--json')).stdout) as { functions: FunctionVersion[] };
    expect(functions.find((f) => f.name === 'policy')).toMatchObject({
      retry: { maxAttempts: 3, backoffMs: 500, backoffFactor: 1.5, maxBackoffMs: 300_000 },
      stuckAfterMs: 30_000,
    });
    const table = (await ferry('fn', 'ls')).stdout;
    expect(table).toMatch(/│ policy +│.*│ 2 retries, back-off 500ms ×1\.5 up to 5m +│ 30s +│/);
    expect(table).toMatch(/│ echo +│.*│ - +│ - +│/);
    expect((await ferry('fn', 'versions', 'policy')).stdout).toContain('2 retries, back-off 500ms ×1.5 up to 5m');
  });

  it('refuses bad deploy, invoke and dead-letters options with exit 2, before anything is sent', async () => {
    const deploy = (...args: string[]): Promise<Ran> => ferry('fn', 'deploy', fixture('ok'), '--name', 'refused', '--runtime', 'py', ...args);
    const refusals: [Ran, string][] = [
      [await deploy('--backoff', '1s'), '--backoff, --backoff-factor and --max-backoff need --retries'],
      [await deploy('--retries', 'many'), '--retries must be a whole number from 0 to 99'],
      [await deploy('--retries', '1', '--backoff', '5x'), '--backoff takes a duration such as 500ms, 30s, 5m, 1h or plain ms'],
      [await deploy('--retries', '1', '--backoff-factor', '0.5'), '--backoff-factor must be a number from 1 to 10'],
      [await deploy('--stuck-after', '50ms'), '--stuck-after must be from 100ms to 168h'],
      [await deploy('--timeout', 'soon'), '--timeout takes a duration'],
      [await ferry('invoke', 'echo', '--idempotency-key', ' padded'), '--idempotency-key must be 1 to 256 printable ASCII characters'],
      [await ferry('dead-letters', '--limit', '0'), '--limit must be a whole number from 1 to 1000'],
      [await ferry('dead-letters', '--retry', '--limit', '10001'), '--limit must be a whole number from 1 to 10000'],
      [await ferry('dead-letters', '--status', 'bogus'), '--status must be one of HELD, PENDING'],
      [await ferry('dispatch'), "missing required argument 'ref'"],
    ];
    for (const [ran, message] of refusals) {
      expect(ran.code, ran.stderr).toBe(2);
      expect(ran.stderr).toContain(message);
    }
    const { functions } = JSON.parse((await ferry('fn', 'ls', '--json')).stdout) as { functions: FunctionVersion[] };
    expect(functions.map((f) => f.name)).not.toContain('refused');
  });

  it('prints help with examples for each command, and completion knows them', async () => {
    const examples: [string[], string][] = [
      [['invoke', '--help'], 'ferry invoke dice -p roll=4d6 --hold'],
      [['invoke', '--help'], '--idempotency-key order-42'],
      [['dispatch', '--help'], 'ferry dispatch 12'],
      [['retry', '--help'], 'ferry retry 12 && ferry wait 12'],
      [['cancel', '--help'], 'ferry cancel 12'],
      [['dead-letters', '--help'], 'ferry dead-letters --fn dice --retry'],
      [['fn', 'deploy', '--help'], '--retries 3 --backoff 1s --backoff-factor 2 --max-backoff 1m'],
      [['fn', 'deploy', '--help'], '--stuck-after 5m'],
    ];
    for (const [args, example] of examples) {
      const help = await ferry(...args);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(example);
    }
    const completion = (await ferry('completion', 'bash')).stdout;
    expect(completion).toContain('"dead-letters") words="--fn --status --session --limit --retry --json');
    expect(completion).toContain('"invoke") words="--param --data --async --hold --session --idempotency-key --json');
    expect(completion).toContain('"fn deploy") words="--name --runtime --timeout --memory --retries --backoff --backoff-factor --max-backoff --stuck-after --env --secret --keep-env --json');
    for (const command of ['dispatch', 'retry', 'cancel']) expect(completion).toContain(`"${command}") words="--json --url --help" ;;`);
    expect(completion).toMatch(/"" *\) words="[^"]*\bdispatch retry cancel dead-letters\b/);
  });
});
