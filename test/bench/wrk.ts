import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { TICKS_PER_S } from '../helpers/processes.js';
import { round } from './stats.js';

/** wrk (Debian's `wrk`): HTTP load from a C process, so the load generator takes little of the CPU measured. */

const run = promisify(execFile);

export const WRK_HELP =
  'the CPU and scale benches drive Ferry with wrk (HTTP load from a C process, off the measured cores): install it with `apt-get install -y wrk` (Debian/Ubuntu) and run again';

/** Whether wrk is installed; the bench stops with how to get it when not. */
export async function haveWrk(): Promise<boolean> {
  return run('wrk', ['--version']).then(
    () => true,
    // wrk --version prints its banner and exits 1.
    (err: { stdout?: string }) => String(err.stdout ?? '').includes('wrk'),
  );
}

/**
 * The Lua script wrk runs: a POST of `{}` with the admin key to the URL wrk is given (a sync
 * invoke), and at the end one line of figures on stdout (latencies in µs from wrk's own
 * histogram). With `mixed`, every `every`-th request goes to `path` instead (an async invoke).
 */
export function wrkScript(token: string | undefined, mixed?: { every: number; path: string }): string {
  return `wrk.method = "POST"
wrk.body = "{}"
wrk.headers["Content-Type"] = "application/json"
${token ? `wrk.headers["Authorization"] = "Bearer ${token}"` : ''}
${
  mixed
    ? `local n = 0
request = function()
  n = n + 1
  if n % ${mixed.every} == 0 then return wrk.format(nil, "${mixed.path}") end
  return wrk.format()
end`
    : ''
}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('FERRY_WRK {"requests":%d,"duration_us":%d,"errors":%d,"p50_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`;
}

/**
 * `seconds` of wrk with `connections` keep-alive connections posting sync invokes, one wrk
 * thread. It runs under a shell that prints its own /proc stat after wrk exits, so wrk's whole
 * CPU (the shell's cutime + cstime) is known.
 */
export async function wrk(target: string, script: string, connections: number, seconds: number): Promise<{ requests: number; perSec: number; p50Ms: number; p99Ms: number; errors: number; cpuMs: number }> {
  const { stdout } = await run(
    'sh',
    ['-c', 'wrk "$@"; cat /proc/$$/stat', 'sh', '-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '10s', '-s', script, target],
    { maxBuffer: 1024 * 1024 },
  );
  const line = stdout.split('\n').find((l) => l.startsWith('FERRY_WRK '));
  if (!line) throw new Error(`wrk gave no figures:\n${stdout}`);
  const r = JSON.parse(line.slice('FERRY_WRK '.length)) as { requests: number; duration_us: number; errors: number; p50_us: number; p99_us: number };
  const stat = stdout.trim().split('\n').at(-1)!;
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    requests: r.requests,
    perSec: Math.round(r.requests / (r.duration_us / 1e6)),
    p50Ms: round(r.p50_us / 1000, 3),
    p99Ms: round(r.p99_us / 1000, 3),
    errors: r.errors,
    cpuMs: ((Number(f[13]) + Number(f[14])) * 1000) / TICKS_PER_S,
  };
}
