import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { runFerry, watchFerry, type Ran } from '../helpers/ferry-cli.js';
import { waitUntil } from '../helpers/temp.js';

// The built CLI as a user runs it: a real process against a real cluster.
describe('the ferry CLI', () => {
  let c: Cluster;
  const ferry = (...args: string[]): Promise<Ran> => runFerry(c.url, args);

  beforeAll(async () => {
    c = await startCluster({ workers: ['cli-node'] });
  });
  afterAll(async () => c?.close());

  it('registers a runtime, deploys a folder honouring .ferryignore, and invokes it', async () => {
    const added = await ferry('runtime', 'add', 'pythonruntime', '--name', 'py', '--protocol', 'agent', '--run', 'main.py');
    expect(added).toMatchObject({ code: 0 });
    expect(added.stdout).toContain('runtime py registered');

    const dir = path.join(c.dir, 'lister');
    await mkdir(path.join(dir, 'secrets'), { recursive: true });
    await writeFile(path.join(dir, 'main.py'), 'import os\n\ndef main(params, ctx=None):\n    print("listing")\n    return sorted(os.listdir("/ws"))\n');
    await writeFile(path.join(dir, 'keep.txt'), 'kept\n');
    await writeFile(path.join(dir, 'secrets', 'token'), 'do not ship\n');
    await writeFile(path.join(dir, '.ferryignore'), 'secrets/\n*.log\n');
    await writeFile(path.join(dir, 'debug.log'), 'noise\n');
    const deployed = await ferry('fn', 'deploy', dir, '--name', 'lister', '--runtime', 'py');
    expect(deployed.code).toBe(0);
    expect(deployed.stdout).toMatch(/deployed lister@1 \(\d+ bytes, 2 files/);

    const out = await ferry('invoke', 'lister');
    expect(out).toMatchObject({ code: 0, stdout: '["keep.txt","main.py"]\n' });
  });

  it('invokes with -p and -d, sync and --async, and reads calls, logs and waits', async () => {
    const sync = await ferry('invoke', 'lister', '-p', 'n=3', '-p', 'name=ada');
    expect(sync.code).toBe(0);

    const id = (await ferry('invoke', 'lister', '-d', '{"x":[1,2]}', '--async')).stdout.trim();
    expect(id).toMatch(/^[A-Za-z0-9]{21}$/);
    const waited = await ferry('wait', id);
    expect(waited).toMatchObject({ code: 0, stdout: '["keep.txt","main.py"]\n' });

    const calls = JSON.parse((await ferry('calls', '--fn', 'lister', '--json')).stdout) as { calls: { id: string; params: unknown }[] };
    expect(calls.calls[0]).toMatchObject({ id, params: { x: [1, 2] } });
    const call = JSON.parse((await ferry('call', id, '--json')).stdout) as { status: string; callNum: number };
    expect(call.status).toBe('DONE');
    expect((await ferry('call', String(call.callNum))).stdout).toContain(`call      ${call.callNum} (${id})`);
    expect((await ferry('logs', id)).stdout).toBe('listing\n');
    expect((await ferry('calls')).stdout).toContain('lister@1');

    const nodes = JSON.parse((await ferry('nodes', '--json')).stdout) as { nodes: { nodeId: string }[] };
    expect(nodes.nodes.map((n) => n.nodeId)).toEqual(['cli-node']);
    expect((await ferry('status')).stdout).toContain('node cli-node: docker driver');
    expect(JSON.parse((await ferry('fn', 'ls', '--json')).stdout)).toMatchObject({ functions: [{ name: 'lister', version: 1 }] });
    expect(JSON.parse((await ferry('runtime', 'ls', '--json')).stdout).runtimes[0]).toMatchObject({ name: 'py' });
  });

  it('exits 1 with the error when a call fails, 2 on usage errors, 1 when the cluster is down', async () => {
    const dir = path.join(c.dir, 'boom');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'main.py'), 'def main(params, ctx=None):\n    raise RuntimeError("boom")\n');
    expect((await ferry('fn', 'deploy', dir, '--name', 'boom', '--runtime', 'py')).code).toBe(0);
    const failed = await ferry('invoke', 'boom');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('ended ERROR: FUNCTION_ERROR: RuntimeError: boom');
    expect(failed.stderr).toContain('Traceback');

    expect((await ferry('invoke', 'nope')).stderr).toContain('NOT_FOUND');
    expect((await ferry('invoke')).code).toBe(2);
    expect((await ferry('invoke', 'boom', '-p', 'novalue')).code).toBe(2);
    expect((await ferry('calls', '--limit', 'many')).code).toBe(2);
    expect((await ferry('fn', 'deploy', dir, '--name', 'x')).code).toBe(2);
    expect((await ferry('frobnicate')).code).toBe(2);

    const down = await ferry('--url', 'http://127.0.0.1:9', 'fn', 'ls');
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('cannot reach a Ferry cluster at http://127.0.0.1:9');
  });

  it('prints help with examples and a completion script', async () => {
    const help = await ferry('invoke', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('ferry invoke dice -p roll=4d6');
    const completion = await ferry('completion', 'bash');
    expect(completion.stdout).toContain('complete -F _ferry_complete ferry');
    expect(completion.stdout).toContain('"fn") words="deploy ls versions rm');
    expect(completion.stdout).toContain('"logs") words="--follow --json');
    expect((await ferry('call', '--help')).stdout).toContain('ferry call 12 --follow');
  });
});

// Watching a call run needs the watchers connected before it starts: this cluster has no node
// until they are, so the call waits PENDING, then runs on the node started for it.
describe('ferry call --follow and ferry logs -f', () => {
  let c: Cluster;
  const ferry = (...args: string[]): Promise<Ran> => runFerry(c.url, args);

  beforeAll(async () => {
    c = await startCluster();
  });
  afterAll(async () => c?.close());

  it('print progress, metrics and ctx.log lines as the call runs, then its result and logs', async () => {
    expect((await ferry('runtime', 'add', 'pythonruntime', '--name', 'py', '--protocol', 'agent', '--run', 'main.py')).code).toBe(0);
    const dir = path.join(c.dir, 'reporter');
    await mkdir(dir, { recursive: true });
    await writeFile(
      path.join(dir, 'main.py'),
      'def main(params, ctx):\n    ctx.progress(0.5)\n    ctx.metrics({"rows": 120})\n    ctx.log("halfway there")\n    print("printed to stdout")\n    return "finished"\n',
    );
    expect((await ferry('fn', 'deploy', dir, '--name', 'reporter', '--runtime', 'py')).code).toBe(0);
    const id = (await ferry('invoke', 'reporter', '--async')).stdout.trim();

    const logs = watchFerry(c.url, ['logs', '-f', id]);
    const follow = watchFerry(c.url, ['call', id, '--follow']);
    await waitUntil(() => follow.stdout.includes('PENDING') || follow.ended, 'ferry call --follow showed the call waiting for a node');
    expect(follow.stdout, follow.stderr).toContain(`(${id}) reporter@1: PENDING`);
    await c.startWorker('cli-follow-node');

    const followed = await follow.exited;
    expect(followed.code, followed.stderr).toBe(0);
    expect(followed.stdout).toContain('status    RUNNING (attempt 1 on cli-follow-node)');
    expect(followed.stdout).toContain('progress  50%');
    expect(followed.stdout).toContain('metrics   rows=120');
    expect(followed.stdout).toContain('log       halfway there');
    // The live part first, then the call as `ferry call` shows it.
    expect(followed.stdout.indexOf('log       halfway there')).toBeLessThan(followed.stdout.indexOf('status    DONE'));
    expect(followed.stdout).toMatch(/\nresult +finished\n/);

    // The ctx.log line once, though the ended call keeps it too; then the call's stdout.
    expect(await logs.exited).toMatchObject({ code: 0, stdout: 'halfway there\nprinted to stdout\n' });

    // A late watcher gets the state and the end at once.
    const late = await ferry('call', id, '--follow', '--json');
    expect(late.code).toBe(0);
    const events = late.stdout.trim().split('\n').map((line) => JSON.parse(line) as { event: string });
    expect(events.map((e) => e.event)).toEqual(['call', 'end']);
    expect(events[1]).toMatchObject({ event: 'end', id, status: 'DONE', result: 'finished', metrics: { rows: 120 } });
    expect(await ferry('wait', id)).toMatchObject({ code: 0, stdout: 'finished\n' });
  }, 120_000);

  it('exits 1 when the followed call does not end DONE', async () => {
    const dir = path.join(c.dir, 'boom');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'main.py'), 'def main(params, ctx=None):\n    raise RuntimeError("boom")\n');
    expect((await ferry('fn', 'deploy', dir, '--name', 'boom', '--runtime', 'py')).code).toBe(0);
    const id = (await ferry('invoke', 'boom', '--async')).stdout.trim();
    const followed = await ferry('call', id, '--follow');
    expect(followed.code).toBe(1);
    expect(followed.stdout).toMatch(/\nstatus +ERROR — FUNCTION_ERROR: RuntimeError: boom\n/);
    expect(followed.stderr).toContain('ended ERROR: FUNCTION_ERROR: RuntimeError: boom');
  });
});
