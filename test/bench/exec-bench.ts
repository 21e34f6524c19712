import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { functionImage } from '../../services/worker/drivers/docker-driver.js';
import { makeBundle } from '../helpers/bundles.js';
import { startCluster } from '../helpers/cluster.js';
import { example } from '../helpers/fixtures.js';
import { http, upload } from '../helpers/http.js';
import { waitUntil } from '../helpers/temp.js';
import { median, round, timeMs } from './stats.js';

const run = promisify(execFile);
/** The runtime as the README's curl example registers it. */
const RUNTIME = { image: 'pythonruntime', path: '/ws', dependencies: 'pip3 install -r requirements.txt', run: 'python3 test.py' };
const PARAMS = { roll: '4d6' };
const CONTAINERS = 4;

export interface ExecFigures {
  exec_calls_per_s: number;
  exec_calls: number;
  exec_warm_p50_ms: number;
  exec_floor_p50_ms: number;
  exec_warm_over_floor: number;
}

/**
 * The seed's dice as an `exec` function (`python3 test.py` per call) on one node with four warm
 * containers: async calls per second through a run of `calls` calls, and a warm sync call's
 * latency against its floor, a loop starting `python3 test.py` inside an already-running
 * container of the same image, measured round by round beside it.
 */
export async function execFigures(quick: boolean): Promise<ExecFigures> {
  const calls = quick ? 100 : 300;
  const rounds = quick ? 3 : 8;
  const perRound = quick ? 10 : 25;
  const c = await startCluster({ workers: ['nx-bench'], workerEnv: { FERRY_MAX_CONTAINERS: String(CONTAINERS), FERRY_PRELOAD: 'function' } });
  let floorContainer = '';
  try {
    const rt = await http('POST', `${c.url}/registerRuntime`, RUNTIME);
    if (rt.status !== 201) throw new Error(`registerRuntime answered ${rt.status}`);
    const bundle = await makeBundle(c.dir, 'dice', await example('python/dice'));
    const pushed = await upload(`${c.url}/registerFunction/pythonruntime/dice`, bundle.file);
    if (pushed.status !== 201) throw new Error(`push answered ${pushed.status}`);
    const invoke = async (): Promise<void> => {
      const r = await http<{ status: string; result: string }>('POST', `${c.url}/v1/functions/dice/invoke?wait=true`, PARAMS);
      if (r.status !== 200 || r.body.status !== 'DONE') throw new Error(`dice call failed: ${r.status} ${JSON.stringify(r.body)}`);
    };
    // Warm-up: the image baked, then every container started.
    await invoke();
    await Promise.all(Array.from({ length: CONTAINERS * 2 }, invoke));

    const started = performance.now();
    const made = await http<{ id: string }>('POST', `${c.url}/v1/functions/dice/runs`, { times: calls, params: PARAMS });
    if (made.status !== 201) throw new Error(`run answered ${made.status}`);
    let status = '';
    await waitUntil(
      async () => {
        status = (await http<{ status: string }>('GET', `${c.url}/v1/runs/${made.body.id}`)).body.status;
        return status !== 'QUEUED' && status !== 'RUNNING';
      },
      `the run of ${calls} dice calls ends`,
      600_000,
    );
    const seconds = (performance.now() - started) / 1000;
    if (status !== 'COMPLETE') throw new Error(`the run of dice calls ended ${status}`);

    const image = functionImage(RUNTIME, bundle.sha256);
    floorContainer = (await run('docker', ['run', '-d', '--network', 'none', '--user', '65534:65534', '-w', RUNTIME.path, image, 'sleep', 'infinity'])).stdout.trim();
    const loop = `s=$(date +%s%N); i=0; while [ $i -lt ${perRound} ]; do echo '${JSON.stringify(PARAMS)}' | ${RUNTIME.run} >/dev/null; i=$((i+1)); done; echo $(( ($(date +%s%N) - s) / ${perRound} ))`;
    const warm: number[] = [];
    const floor: number[] = [];
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < perRound; i++) warm.push(await timeMs(invoke));
      floor.push(Number((await run('docker', ['exec', floorContainer, 'sh', '-c', loop])).stdout.trim()) / 1e6);
    }
    return {
      exec_calls_per_s: round(calls / seconds, 1),
      exec_calls: calls,
      exec_warm_p50_ms: round(median(warm), 1),
      exec_floor_p50_ms: round(median(floor), 1),
      exec_warm_over_floor: round(median(warm) / median(floor)),
    };
  } finally {
    if (floorContainer) await run('docker', ['rm', '-f', floorContainer]).catch(() => undefined);
    await c.close();
  }
}

/** Rows: what, figure, target, anchor. */
export function execRows(f: ExecFigures): [string, string, string, string][] {
  return [
    [`exec calls/s, dice (python3 test.py), ${f.exec_calls} async calls, ${CONTAINERS} warm containers`, `${f.exec_calls_per_s}`, '≥ 60', 'one docker exec per call: ~6'],
    [
      'warm exec sync call p50 ms / floor / ratio',
      `${f.exec_warm_p50_ms} / ${f.exec_floor_p50_ms} / ${f.exec_warm_over_floor}`,
      '≤ 1.5',
      `python3 test.py in a running container: ${f.exec_floor_p50_ms} ms`,
    ],
  ];
}
