import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientErrorCode, FerryClient, FerryError, type CallEvent } from '../../packages/client/src/index.js';
import { makeBundle } from '../helpers/bundles.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { tokenFor } from '../helpers/http.js';

/** Client test node ids start with `cl-`, so nothing here can be taken for another test's node. */
const nodeId = `cl-${Math.random().toString(36).slice(2, 8)}`;

/** A runtime no node could run for real: on a fake node, whose calls end DONE echoing their params, that does not matter. */
const unrunnable = { name: 'cl-nowhere', image: 'ferry-test/never-built', path: '/ws', run: 'sh main.sh', protocol: 'exec' } as const;

/** Checks `promise` fails with a FerryError like `expected`. */
async function failsWith(promise: Promise<unknown>, expected: Partial<Record<keyof FerryError, unknown>>): Promise<void> {
  await expect(promise).rejects.toBeInstanceOf(FerryError);
  await expect(promise).rejects.toMatchObject(expected);
}

describe('@ferry/client against a real cluster (a fake node)', () => {
  let c: Cluster;
  let client: FerryClient;

  beforeAll(async () => {
    c = await startCluster();
    await c.startWorker(nodeId, { FERRY_DRIVER: 'fake' });
    client = new FerryClient({ url: c.url, token: tokenFor(c.url) });
  });
  afterAll(async () => c?.close());

  it('registers a runtime and pushes a version from a file, reporting the bytes sent', async () => {
    expect(await client.registerRuntime(unrunnable)).toMatchObject({ name: 'cl-nowhere', protocol: 'exec' });
    const bundle = await makeBundle(c.dir, 'cl-echo', { 'main.sh': 'echo "never run" >&2; exit 3\n' });
    const sent: number[] = [];
    const v = await client.pushFunction(
      'cl-echo',
      bundle.file,
      { runtime: 'cl-nowhere', timeoutMs: 20_000, retryMaxAttempts: 2, env: { REGION: 'eu' }, secrets: { TOKEN: 's3cr3t' } },
      { onProgress: (bytes, total) => sent.push(bytes / total) },
    );
    expect(v).toMatchObject({ name: 'cl-echo', version: 1, runtime: 'cl-nowhere', timeoutMs: 20_000, sha256: bundle.sha256, env: { REGION: 'eu' }, secrets: ['TOKEN'] });
    expect(v.retry).toMatchObject({ maxAttempts: 2 });
    expect(sent.at(-1)).toBe(1);
    // The same bundle as bytes: a second version.
    expect((await client.pushFunction('cl-echo', await readFile(bundle.file), { runtime: 'cl-nowhere' })).version).toBe(2);
    expect((await client.listFunctionVersions('cl-echo')).versions.map((f) => f.version)).toEqual([1, 2]);
    expect((await client.getFunction('cl-echo@1')).env).toEqual({ REGION: 'eu' });
    expect((await client.listNodes()).nodes).toEqual([expect.objectContaining({ nodeId, driver: 'fake' })]);
  });

  it('invokes waiting for the end, or not, and finds the calls again', async () => {
    const waited = await client.invokeFunction('cl-echo', { n: 1 }, { wait: true });
    expect(waited).toMatchObject({ status: 200, replayed: false, call: { status: 'DONE', result: '{"n":1}', funcName: 'cl-echo', version: 2, workerId: nodeId } });

    const accepted = await client.invokeFunction('cl-echo@1', { n: 2 }, { hold: true });
    expect(accepted).toMatchObject({ status: 202, call: { status: 'HELD' } });
    expect(await client.getCall(accepted.call.callNum)).toMatchObject({ id: accepted.call.id, version: 1, params: { n: 2 } });
    const page = await client.listCalls({ funcName: 'cl-echo', status: 'HELD' });
    expect(page.calls.map((call) => call.id)).toEqual([accepted.call.id]);
    expect((await client.cancelCall(accepted.call.id)).status).toBe('CANCELLED');

    const keyed = { wait: true, idempotencyKey: 'cl-order-1' };
    const first = await client.invokeFunction('cl-echo', { n: 3 }, keyed);
    expect(await client.invokeFunction('cl-echo', { n: 3 }, keyed)).toMatchObject({ status: 200, replayed: true, call: { id: first.call.id } });
  });

  it("throws FerryErrors with the server's code and status, and its own when no server answers", async () => {
    await failsWith(client.getCall('cl-no-such-call'), { code: 'NOT_FOUND', status: 404, retryable: false });
    await failsWith(client.invokeFunction('cl-missing', {}), { code: 'NOT_FOUND', status: 404 });
    const done = await client.invokeFunction('cl-echo', { n: 4 }, { wait: true });
    await failsWith(client.cancelCall(done.call.id), { code: 'CONFLICT', status: 409, message: expect.stringContaining('has already ended (DONE)') });
    await failsWith(client.invokeFunction('cl-echo', { n: 5 }, { wait: true, idempotencyKey: 'cl-order-1' }), { code: 'IDEMPOTENCY_CONFLICT', status: 409 });
    await failsWith(new FerryClient({ url: c.url, token: 'fry_nope' }).whoami(), { code: 'UNAUTHENTICATED', status: 401 });
    // Port 9 (discard) has no HTTP server on a test machine.
    await failsWith(new FerryClient({ url: 'http://127.0.0.1:9' }).health(), { code: ClientErrorCode.UNREACHABLE, status: 0, retryable: true });
  });

  it("streams a call's events as typed events, from HELD to its end", async () => {
    const { call } = await client.invokeFunction('cl-echo', { n: 6 }, { hold: true });
    const seen: CallEvent[] = [];
    for await (const event of client.streamCallEvents(call.id)) {
      seen.push(event);
      // Dispatched once the stream is open: every change from here on is an event.
      if (seen.length === 1) await client.dispatchCall(call.id);
    }
    expect(seen[0]).toMatchObject({ event: 'call', data: { id: call.id, status: 'HELD' } });
    const statuses = seen.filter((e) => e.event === 'call').map((e) => e.data.status);
    expect([statuses[0], statuses.at(-1)]).toEqual(['HELD', 'DONE']);
    expect(seen.at(-1)).toMatchObject({ event: 'end', data: { status: 'DONE', result: '{"n":6}' } });

    // A call that has ended: its state and its end at once.
    const events: string[] = [];
    const final = await client.followCall(call.callNum, (e) => events.push(e.event));
    expect(events).toEqual(['call', 'end']);
    expect(final).toMatchObject({ id: call.id, status: 'DONE' });
    await failsWith(client.followCall('cl-no-such-call'), { code: 'NOT_FOUND', status: 404 });
  });

  it('streams every call of the cluster, reads its statistics and the api\'s metrics', async () => {
    const { call } = await client.invokeFunction('cl-echo', { n: 7 }, { hold: true });
    const statuses: string[] = [];
    let opened!: () => void;
    const open = new Promise<void>((resolve) => (opened = resolve));
    const reading = (async () => {
      for await (const event of client.streamClusterEvents({ funcName: 'cl-echo' }, { onOpen: opened })) {
        if (event.event === 'call' && event.data.id === call.id) statuses.push(event.data.status);
        if (statuses.at(-1) === 'DONE') return;
      }
    })();
    await open;
    await client.dispatchCall(call.id);
    await reading;
    expect(statuses.at(-1)).toBe('DONE');

    const stats = await client.getClusterStats({ windowSecs: 600, stepSecs: 60 });
    expect(stats.counts.DONE).toBeGreaterThan(0);
    expect(stats.series).toHaveLength(10);
    expect(await client.getMetrics()).toMatch(/^ferry_calls_ended_total\{.*function="cl-echo".*status="DONE".*\} \d+$/m);
  });
});
