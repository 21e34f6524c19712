import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { functionImage } from '../../services/worker/drivers/docker-driver.js';
import type { Dispatch } from '../../shared/protocol/worker-messages.js';
import { waitUntil } from '../helpers/temp.js';
import { finalOf } from '../helpers/fake-api.js';
import { containersOf, pythonRuntime, type CallEnd } from '../helpers/worker-calls.js';
import { startWorkerCluster, type WorkerCluster } from '../helpers/worker-cluster.js';

// A reused exec container runs each call's `run` through its exec agent, not a `docker exec`:
// what a user sees of a call (result, output, exit code, env, reports, limits) stays the same.
const docker = new Docker();
const runtime = pythonRuntime('exec', 'sh main.sh');

/** Echoes its call; exits with the code its params name; hogs memory, hangs or reports when asked. */
const CALL_SH = `params=$(cat)
echo "host=$(hostname) stdin=$params"
echo "id=$FERRY_CALL_ID attempt=$FERRY_ATTEMPT execution=$FERRY_EXECUTION_ID params=$FERRY_PARAMS greeting=$GREETING"
echo "stderr of $FERRY_CALL_ID" >&2
case "$params" in
  '"hog"') exec python3 -c 'hoard = []
while True: hoard.append(bytearray(16 * 1024 * 1024))' ;;
  '"hang"') exec sleep 300 ;;
  '"report"') echo '##ferry progress 0.5' >&2; exec sleep 300 ;;
  [0-9]*) exit "$params" ;;
esac
`;
const files = { 'main.sh': CALL_SH };

describe('exec functions in a warm container (exec agent)', () => {
  let c: WorkerCluster;
  let bundle: { sha256: string; size: number };
  let n = 0;
  const run = async (call: Partial<Dispatch> = {}): Promise<CallEnd> => {
    const callId = call.callId ?? `nx-call-${++n}`;
    c.api.dispatch(c.nodeId, c.call({ ...bundle, runtime, function: 'echo', memoryMb: 64, ...call, callId }));
    const m = await c.api.finished(callId, call.attempt ?? 1, 60_000);
    return { ...(finalOf(m) as unknown as CallEnd), msgType: m.msgType };
  };
  const hostOf = (end: CallEnd): string => /host=(\S+)/.exec(end.logs.stdout)?.[1] ?? '';

  beforeAll(async () => {
    c = await startWorkerCluster({
      FERRY_DRIVER: 'docker',
      FERRY_NODE_ID: `nx-exec-${Math.random().toString(36).slice(2, 8)}`,
      FERRY_PRELOAD: 'function',
      FERRY_MAX_CONTAINERS: '1',
    });
    // The first call runs from the runtime's image while the function's is baked; calls after
    // that one share a container from the baked image.
    bundle = await c.push('echo', files);
    expect(await run({ params: 0 })).toMatchObject({ status: 'DONE' });
    const image = functionImage(runtime, bundle.sha256);
    await waitUntil(() => docker.getImage(image).inspect().then(() => true, () => false), `${image} is baked`, 60_000);
  });
  afterAll(async () => {
    const id = c?.nodeId;
    await c?.close();
    if (id) expect(await containersOf(id)).toBe(0);
  });

  it('runs many calls in one warm container with no docker exec, each with its own stdin, output, exit code and env', async () => {
    const first = await run({ params: 0 });
    expect(first.status).toBe('DONE');
    const [container] = await docker.listContainers({ filters: { label: [`ferry.node=${c.nodeId}`] } });
    const since = Date.now() / 1000;

    const ends: CallEnd[] = [];
    for (let i = 0; i < 12; i++) ends.push(await run({ callId: `nx-many-${i}`, attempt: 1 + (i % 2), params: i % 3, env: { GREETING: `hello ${i}` } }));
    // One exec of our own in the same window shows the event stream sees this container's execs.
    await (await docker.getContainer(container!.Id).exec({ Cmd: ['true'] })).start({ Detach: true });
    const until = Date.now() / 1000 + 0.001;

    ends.forEach((end, i) => {
      const attempt = 1 + (i % 2);
      expect(hostOf(end)).toBe(hostOf(first));
      expect(end.logs.stdout).toContain(`stdin=${i % 3}\n`);
      expect(end.logs.stdout).toContain(`id=nx-many-${i} attempt=${attempt} execution=nx-many-${i}.${attempt} params=${i % 3} greeting=hello ${i}\n`);
      expect(end.logs.stderr).toBe(`stderr of nx-many-${i}\n`);
      expect(end.exitCode).toBe(i % 3);
      if (i % 3 === 0) expect(end).toMatchObject({ status: 'DONE', error: null });
      else expect(end).toMatchObject({ status: 'ERROR', error: { code: 'FUNCTION_ERROR', message: `function exited with code ${i % 3}: stderr of nx-many-${i}` } });
    });

    const events = await docker.getEvents({ since, until, filters: { type: ['container'], container: [container!.Id] } });
    const execs = await new Promise<string[]>((resolve, reject) => {
      let text = '';
      events.on('data', (d: Buffer) => (text += d.toString('utf8')));
      events.on('end', () => resolve(text.split('\n').filter((l) => l.trim() !== '').map((l) => (JSON.parse(l) as { Action: string }).Action.trim())));
      events.on('error', reject);
    });
    expect(execs.filter((a) => a.startsWith('exec_create'))).toEqual(['exec_create: true']);
  });

  it('a memory hog in a warm container ends MEMORY_LIMIT, and the next call works', async () => {
    const warm = await run({ params: 0 });
    const hog = await run({ params: 'hog' });
    expect(hostOf(hog)).toBe(hostOf(warm));
    expect(hog).toMatchObject({ status: 'ERROR', error: { code: 'MEMORY_LIMIT', message: 'function exceeded its memory limit of 64 MiB and was killed' } });
    expect(await run({ params: 0 })).toMatchObject({ status: 'DONE' });
  });

  it('a call past its timeout in a warm container ends TIMEOUT, and the next call gets a working container', async () => {
    const warm = await run({ params: 0 });
    const hung = await run({ params: 'hang', timeoutMs: 1_000 });
    expect(hostOf(hung)).toBe(hostOf(warm));
    expect(hung).toMatchObject({ status: 'TIMEOUT', error: { code: 'TIMEOUT', message: 'call exceeded its timeout of 1000 ms' } });
    const next = await run({ params: 0 });
    expect(next).toMatchObject({ status: 'DONE' });
    expect(hostOf(next)).not.toBe(hostOf(warm));
  });

  it('streams ##ferry progress live from a warm call', async () => {
    expect(await run({ params: 0 })).toMatchObject({ status: 'DONE' });
    const callId = 'nx-live';
    const ended = run({ callId, params: 'report' });
    const progress = await c.api.waitFor((m) => m.msgType === 'progress' && m.content.callId === callId, 'progress of the running call');
    expect(progress.content).toMatchObject({ progress: 0.5 });
    // The call still runs: its end comes only once it is cancelled.
    expect(c.api.received.some((m) => m.msgType === 'finished' && m.content.callId === callId)).toBe(false);
    c.api.cancel(c.nodeId, callId, 1);
    await ended;
    expect(await run({ params: 0 })).toMatchObject({ status: 'DONE' });
  });
});
