import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Dispatch } from '../../shared/protocol/worker-messages.js';
import { functionImage } from '../../services/worker/drivers/docker-driver.js';
import { waitUntil } from '../helpers/temp.js';
import { startWorkerCluster, type WorkerCluster } from '../helpers/worker-cluster.js';
import { median, percentile, round, timeMs } from './stats.js';

const exec = promisify(execFile);

export interface WorkerBenchResult {
  warmAgentP50Ms: number;
  warmAgentP99Ms: number;
  /** The agent's own round trip for the call (what the function "costs" inside the container). */
  warmAgentRunP50Ms: number;
  warmExecMs: number;
  bareDockerExecMs: number;
  execRatio: number;
  coldMs: number;
  bareDockerRunMs: number;
  coldRatio: number;
}

const NOOP_PY = 'import sys\n\ndef main(params, ctx=None):\n    return ""\n\nif __name__ == "__main__":\n    sys.stdin.read()\n';

let seq = 0;
async function callOnce(c: WorkerCluster, d: Omit<Dispatch, 'callId'>): Promise<{ ms: number; runMs: number }> {
  const callId = `b-${++seq}`;
  let runMs = 0;
  const ms = await timeMs(async () => {
    c.api.dispatch(c.nodeId, { ...d, callId });
    const m = await c.api.finished(callId, 1, 60_000);
    if (m.msgType !== 'finished' || m.content.outcome.status !== 'DONE') throw new Error(`bench call failed: ${JSON.stringify(m.content)}`);
    runMs = m.content.outcome.timings.runMs;
  });
  return { ms, runMs };
}

/**
 * Inside one node, side by side with bare Docker on the same image and code: warm agent calls,
 * warm exec calls against `docker exec`, and cold calls (preload none) against `docker run --rm`.
 * Contenders alternate round by round so machine drift hits both.
 */
export async function benchWorker(quick: boolean): Promise<WorkerBenchResult> {
  const warmN = quick ? 200 : 2_000;
  const rounds = quick ? 5 : 20;
  const warm = await startWorkerCluster({ FERRY_DRIVER: 'docker', FERRY_PRELOAD: 'function', FERRY_MAX_CONTAINERS: '2', FERRY_LOG_LEVEL: 'info' });
  const cold = await startWorkerCluster({ FERRY_DRIVER: 'docker', FERRY_PRELOAD: 'none', FERRY_MAX_CONTAINERS: '2', FERRY_LOG_LEVEL: 'info' });
  let container = '';
  try {
    const bundle = await warm.push('noop', { 'main.py': NOOP_PY });
    const coldBundle = await cold.push('noop', { 'main.py': NOOP_PY });
    const base = { attempt: 1, version: 1, ...bundle, params: null, timeoutMs: 30_000, memoryMb: 256 };
    const agent = { ...base, function: 'noop-agent', runtime: { name: 'py', image: 'pythonruntime', path: '/ws', dependencies: '', run: 'main.py', protocol: 'agent' as const } };
    const execRt = { name: 'py', image: 'pythonruntime', path: '/ws', dependencies: '', run: 'python3 main.py', protocol: 'exec' as const };
    const execCall = { ...base, function: 'noop-exec', runtime: execRt };
    const coldCall = { ...execCall, ...coldBundle };

    // Warm-up: images built, containers started.
    for (let i = 0; i < 20; i++) await callOnce(warm, agent);
    await callOnce(warm, execCall);
    await callOnce(cold, coldCall);

    const agentMs: number[] = [];
    const agentRun: number[] = [];
    for (let i = 0; i < warmN; i++) {
      const r = await callOnce(warm, agent);
      agentMs.push(r.ms);
      agentRun.push(r.runMs);
    }

    container = (await exec('docker', ['run', '-d', '--network', 'none', 'pythonruntime', 'sleep', '3600'])).stdout.trim();
    await exec('docker', ['exec', container, 'sh', '-c', `mkdir -p /ws && printf '%s' '${NOOP_PY.replace(/'/g, "'\\''")}' > /ws/main.py`]);
    const execMs: number[] = [];
    const bareExecMs: number[] = [];
    const coldMs: number[] = [];
    const bareRunMs: number[] = [];
    // The same image the cold path starts: the function's image with its code baked in (baked in
    // the background after the first call; until then calls copy the code into the runtime image).
    const fnImage = functionImage(execRt, coldBundle.sha256);
    await waitUntil(() => exec('docker', ['image', 'inspect', fnImage]).then(() => true, () => false), `${fnImage} is baked`, 60_000);
    for (let i = 0; i < rounds; i++) {
      execMs.push((await callOnce(warm, execCall)).ms);
      bareExecMs.push(await timeMs(() => exec('docker', ['exec', '-i', '-w', '/ws', container, 'sh', '-c', 'echo null | python3 main.py'])));
      coldMs.push((await callOnce(cold, coldCall)).ms);
      bareRunMs.push(await timeMs(() => exec('docker', ['run', '--rm', '-i', '--network', 'none', '-w', '/ws', fnImage, 'sh', '-c', 'echo null | python3 main.py'])));
    }
    return {
      warmAgentP50Ms: round(median(agentMs), 3),
      warmAgentP99Ms: round(percentile(agentMs, 99), 3),
      warmAgentRunP50Ms: round(median(agentRun), 3),
      warmExecMs: round(median(execMs)),
      bareDockerExecMs: round(median(bareExecMs)),
      execRatio: round(median(execMs) / median(bareExecMs)),
      coldMs: round(median(coldMs)),
      bareDockerRunMs: round(median(bareRunMs)),
      coldRatio: round(median(coldMs) / median(bareRunMs)),
    };
  } finally {
    if (container) await exec('docker', ['rm', '-f', container]).catch(() => undefined);
    await warm.close();
    await cold.close();
  }
}
