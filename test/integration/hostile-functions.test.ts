import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/fixtures.js';
import { containersOf, nodeRuntime, pythonRuntime, runCall, type CallEnd, type Runtime } from '../helpers/worker-calls.js';
import { startWorkerCluster, type WorkerCluster } from '../helpers/worker-cluster.js';

// Each hostile function ends with a clear status and error, and the node serves the next call.
// What Ferry does about each is in docs/hostile-functions.md.
const PIDS_LIMIT = 64;
const OUTPUT_CAP = 65_536;
const pythonExec = pythonRuntime('exec', 'python3 main.py');
const pythonAgent = pythonRuntime('agent', 'main.py');
type CallFields = Omit<Parameters<typeof runCall>[3], 'callId'>;

describe('hostile functions on a Docker node', () => {
  let c: WorkerCluster;
  let n = 0;
  const run = async (name: string, runtime: Runtime, call: CallFields = {}): Promise<CallEnd> =>
    runCall(c, await fixture(name), runtime, { callId: `hostile-${++n}`, function: `${name}-${runtime.image}-${runtime.protocol}`, ...call });
  /** The node still runs a plain call of `runtime` (fixture `plain`) after the hostile one. */
  const stillServes = async (runtime: Runtime, plain = 'ok'): Promise<void> => {
    expect(await run(plain, runtime, { params: 'next' })).toMatchObject({ status: 'DONE' });
  };

  beforeAll(async () => {
    c = await startWorkerCluster({
      FERRY_DRIVER: 'docker',
      FERRY_NODE_ID: `sb-hostile-${Math.random().toString(36).slice(2, 8)}`,
      FERRY_PRELOAD: 'function',
      FERRY_MAX_CONTAINERS: '2',
      FERRY_PIDS_LIMIT: String(PIDS_LIMIT),
      FERRY_OUTPUT_CAP_BYTES: String(OUTPUT_CAP),
    });
  });
  afterAll(async () => {
    const id = c?.nodeId;
    await c?.close();
    if (id) expect(await containersOf(id)).toBe(0);
  });

  it('fork bomb: stopped at the pids limit, the call fails saying so, and its container is not reused', async () => {
    for (const runtime of [pythonExec, pythonAgent]) {
      const end = await run('forkbomb', runtime);
      expect(end).toMatchObject({ status: 'ERROR', error: { code: 'FUNCTION_ERROR' } });
      expect(end.error?.message).toContain('Resource temporarily unavailable');
      expect(end.error?.message).toContain(`the call reached its limit of ${PIDS_LIMIT} processes`);
      const started = Number(/started (\d+) processes/.exec(end.logs.stdout)?.[1]);
      expect(started).toBeLessThan(PIDS_LIMIT);
      // The bomb's processes still fill the container it ran in: this call could not run there.
      expect(await run('forkbomb', runtime, { params: { count: 20 } })).toMatchObject({ status: 'DONE', result: expect.stringMatching(/"started": ?20/) });
    }
  });

  it('memory hog: killed at its memory limit, MEMORY_LIMIT naming the limit', async () => {
    for (const runtime of [pythonExec, pythonAgent]) {
      const end = await run('memory-hog', runtime, { memoryMb: 64 });
      expect(end).toMatchObject({ status: 'ERROR', error: { code: 'MEMORY_LIMIT' } });
      expect(end.error?.message).toContain('exceeded its memory limit of 64 MiB');
      await stillServes(runtime);
    }
  });

  it('endless loop: killed at its timeout, TIMEOUT', async () => {
    for (const runtime of [pythonExec, pythonAgent]) {
      const end = await run('busy', runtime, { timeoutMs: 1_500 });
      expect(end).toMatchObject({ status: 'TIMEOUT', error: { code: 'TIMEOUT', message: 'call exceeded its timeout of 1500 ms' } });
      await stillServes(runtime);
    }
  });

  it('stdout flood: cut at the output cap and marked truncated', async () => {
    for (const runtime of [pythonRuntime('exec', 'sh main.sh'), pythonAgent]) {
      const end = await run('big-output', runtime);
      expect(end).toMatchObject({ status: 'DONE', logs: { truncated: true } });
      expect(end.logs.stdout.length).toBe(OUTPUT_CAP);
      await stillServes(pythonAgent);
    }
  });

  it('writing outside /tmp: the write fails inside (read-only file system) and the call reports it', async () => {
    for (const runtime of [pythonExec, pythonAgent]) {
      const end = await run('write-outside-tmp', runtime);
      expect(end).toMatchObject({ status: 'ERROR', error: { code: 'FUNCTION_ERROR' } });
      expect(end.error?.message).toContain("Read-only file system: '/usr/local/bin/intruder'");
      await stillServes(runtime);
    }
  });

  it('network: a call has only a loopback interface and cannot reach the host', async () => {
    let connections = 0;
    const server: Server = createServer((sock) => {
      connections++;
      sock.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as { port: number }).port;
      for (const runtime of [pythonExec, pythonAgent]) {
        const end = await run('network', runtime, { params: { port } });
        expect(end).toMatchObject({ status: 'ERROR', error: { code: 'FUNCTION_ERROR' }, logs: { stdout: 'lo\n' } });
        expect(end.error?.message).toContain('ConnectionRefusedError');
        await stillServes(runtime);
      }
      expect(connections).toBe(0);
    } finally {
      server.close();
    }
  });

  it('ends its own agent: AGENT_FAILED, and the next call gets a fresh container', async () => {
    for (const [runtime, plain] of [[pythonAgent, 'ok'], [nodeRuntime('agent', 'index.js'), 'call-context']] as const) {
      const end = await run('exits-agent', runtime);
      expect(end).toMatchObject({ status: 'ERROR', error: { code: 'AGENT_FAILED', message: 'the runtime agent exited during the call' } });
      await stillServes(runtime, plain);
    }
  });
});
