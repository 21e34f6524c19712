import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { makeBundle } from '../helpers/bundles.js';
import { readAdminKey } from '../helpers/cluster.js';
import { repoDir } from '../helpers/fixtures.js';
import { forgetToken, http, upload, useToken } from '../helpers/http.js';
import { childrenOf, cpuMs } from '../helpers/processes.js';
import { oneNodeEnv } from '../helpers/supervised-cluster.js';
import { makeTempDir, waitUntil } from '../helpers/temp.js';
import { median, round, timeMs } from './stats.js';

const exec = promisify(execFile);
const ferryBin = path.join(repoDir, 'services', 'cli', 'bin', 'ferry.js');
/** A source `npm start` builds from, given a comment for the changed-source start and put back after. */
const touchedSource = path.join(repoDir, 'services', 'supervisor', 'prepare-host.ts');
const NOOP_JS = 'exports.handler = async () => "";\n';

/**
 * CPU ms spent so far by process `pid` and every process below it: its own time and that of
 * the children it has reaped (docker, bash), for each process still alive.
 */
function treeCpuMs(pid: number): number {
  return childrenOf(pid).reduce((sum, child) => sum + treeCpuMs(child), cpuMs(pid, true));
}

interface Started {
  /** From spawning `npm start` to its banner: the api answers, the worker has joined. */
  readyMs: number;
  /** CPU ms the whole start took, npm and every daemon, until the banner. */
  cpuMs: number;
  url: string;
  stop(): Promise<void>;
}

/** `npm start` as a user types it, in the repository, timed until its banner. */
async function npmStart(env: Record<string, string>): Promise<Started> {
  const started = process.hrtime.bigint();
  const proc: ChildProcess = spawn('npm', ['start'], { cwd: repoDir, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    // Ctrl-C reaches the whole process group, as in a terminal.
    if (proc.exitCode === null && proc.signalCode === null) process.kill(-proc.pid!, 'SIGINT');
    await exited;
  };
  let stderr = '';
  let readyMs: number | undefined;
  let cpuMs: number | undefined;
  const url = await new Promise<string>((resolve, reject) => {
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      const up = /Ferry is up: (\S+)/.exec(stderr);
      if (up) {
        readyMs ??= Number(process.hrtime.bigint() - started) / 1e6;
        cpuMs ??= treeCpuMs(proc.pid!);
        resolve(up[1]!);
      }
    });
    void exited.then(() => reject(new Error(`npm start exited before its banner:\n${stderr.slice(-2000)}`)));
  });
  return { readyMs: readyMs!, cpuMs: cpuMs!, url, stop };
}

/** Wall ms of a command, and its CPU ms (user + system) when /usr/bin/time is there to tell. */
async function timedCommand(cmd: string, args: string[], env: Record<string, string> = {}): Promise<{ wallMs: number; cpuMs: number }> {
  const withTime = existsSync('/usr/bin/time');
  let out = '';
  const wallMs = await timeMs(async () => {
    const r = await exec(withTime ? '/usr/bin/time' : cmd, withTime ? ['-f', 'cpu %U %S', cmd, ...args] : args, { env: { ...process.env, ...env } });
    out = r.stderr;
  });
  const cpu = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(out);
  return { wallMs, cpuMs: cpu ? (Number(cpu[1]) + Number(cpu[2])) * 1000 : NaN };
}

/** Median wall and CPU ms of `runs` runs after one warm-up. */
async function medianOf(runs: number, once: () => Promise<{ wallMs: number; cpuMs: number }>): Promise<{ wallMs: number; cpuMs: number }> {
  await once();
  const all: { wallMs: number; cpuMs: number }[] = [];
  for (let i = 0; i < runs; i++) all.push(await once());
  return { wallMs: round(median(all.map((r) => r.wallMs)), 1), cpuMs: round(median(all.map((r) => r.cpuMs)), 0) };
}

/** A no-op Node function in a warm agent container of the cluster at `url`. */
async function warmFunction(url: string, dir: string): Promise<string> {
  const rt = await http('POST', `${url}/v1/runtimes`, { name: 'bench-js', image: 'noderuntime', path: '/ws', run: 'index.js', protocol: 'agent' });
  if (rt.status !== 201 && rt.status !== 200 && rt.status !== 409) throw new Error(`runtime not registered: ${rt.status}`);
  const bundle = await makeBundle(dir, 'start-noop', { 'index.js': NOOP_JS });
  const pushed = await upload(`${url}/v1/functions/start-noop`, bundle.file, { runtime: 'bench-js' });
  if (pushed.status !== 201) throw new Error(`function not pushed: ${pushed.status}`);
  // The first call starts its container: on a busy machine it may outlast the api's wait (202).
  const first = await http<{ id: string }>('POST', `${url}/v1/functions/start-noop/invoke?wait=true`, {});
  if (first.status !== 200 && first.status !== 202) throw new Error(`first call answered ${first.status}`);
  await waitUntil(async () => (await http<{ status: string }>('GET', `${url}/v1/calls/${first.body.id}`)).body.status === 'DONE', 'the first call is DONE', 120_000);
  return 'start-noop';
}

/**
 * Target 6, starts fast: `npm start` until ready when nothing changed (a restart: data, keys and
 * images there), the same after one source changed (the build it runs), `ferry invoke` of a warm
 * function as a command, `ferry --version`, and their floors: `node -e 0` and a curl of the
 * same invoke.
 */
export async function startFigures(quick: boolean) {
  const runs = quick ? 3 : 5;
  const commandRuns = quick ? 10 : 30;
  const { dir, cleanup } = await makeTempDir('ferry-start-bench-');
  try {
    const env = { ...(await oneNodeEnv(dir)), FERRY_NODE_ID: 'nt-bench' };
    // The first start: builds if the sources changed, makes the data folder, keys and admin key.
    await (await npmStart(env)).stop();
    const ready: number[] = [];
    const readyCpu: number[] = [];
    for (let i = 0; i < runs - 1; i++) {
      const s = await npmStart(env);
      ready.push(s.readyMs);
      readyCpu.push(s.cpuMs);
      await s.stop();
    }
    // The last start stays up for the invokes.
    const s = await npmStart(env);
    ready.push(s.readyMs);
    readyCpu.push(s.cpuMs);
    let invoke: { wallMs: number; cpuMs: number };
    let curl: { wallMs: number; cpuMs: number };
    try {
      const key = (await readAdminKey(dir))!;
      useToken(s.url, key);
      const fn = await warmFunction(s.url, dir);
      // As a user runs it beside a local cluster: the CLI finds the admin key in the data folder.
      const cliEnv = { FERRY_URL: s.url, FERRY_DATA_DIR: dir };
      invoke = await medianOf(commandRuns, () => timedCommand(process.execPath, [ferryBin, 'invoke', fn], cliEnv));
      curl = await medianOf(commandRuns, () =>
        timedCommand('curl', ['-sf', '-u', `:${key}`, '-H', 'Content-Type: application/json', '-X', 'POST', '--data', '{}', `${s.url}/v1/functions/${fn}/invoke?wait=true`]),
      );
      forgetToken(s.url);
    } finally {
      await s.stop();
    }
    const changedMs = await startAfterSourceChange(env);
    const version = await medianOf(commandRuns, () => timedCommand(process.execPath, [ferryBin, '--version']));
    const nodeStart = await medianOf(commandRuns, () => timedCommand(process.execPath, ['-e', '0']));
    return {
      start_ready_ms: round(median(ready), 0),
      start_ready_cpu_ms: round(median(readyCpu), 0),
      start_ready_changed_source_ms: round(changedMs, 0),
      cli_invoke_ms: invoke.wallMs,
      cli_invoke_cpu_ms: invoke.cpuMs,
      curl_invoke_ms: curl.wallMs,
      cli_version_ms: version.wallMs,
      cli_version_cpu_ms: version.cpuMs,
      node_start_ms: nodeStart.wallMs,
      node_start_cpu_ms: nodeStart.cpuMs,
    };
  } finally {
    await cleanup();
  }
}

/** `npm start` after one source changed: the build it runs, then the start. The source and its build are put back after. */
async function startAfterSourceChange(env: Record<string, string>): Promise<number> {
  const original = await readFile(touchedSource, 'utf8');
  try {
    await writeFile(touchedSource, `${original}// changed for the start benchmark\n`);
    const s = await npmStart(env);
    await s.stop();
    return s.readyMs;
  } finally {
    await writeFile(touchedSource, original);
    await exec('npm', ['run', 'build'], { cwd: repoDir });
  }
}

export function startRows(f: Awaited<ReturnType<typeof startFigures>>): [string, string, string, string][] {
  return [
    ['`npm start` ready ms, nothing changed (banner: api answers, worker joined; median; CPU ms of all its processes)', `${f.start_ready_ms} (${f.start_ready_cpu_ms})`, '≤ 3000', `node -e 0 ${f.node_start_ms} ms`],
    ['`npm start` ready ms after one source changed (runs the build)', `${f.start_ready_changed_source_ms}`, '', ''],
    ['`ferry invoke` of a warm function ms (a new process, median; CPU ms)', `${f.cli_invoke_ms} (${f.cli_invoke_cpu_ms})`, '≤ 150', `curl ${f.curl_invoke_ms} ms`],
    ['`ferry --version` ms (a new process, median; CPU ms)', `${f.cli_version_ms} (${f.cli_version_cpu_ms})`, '< 150', `node -e 0 ${f.node_start_ms} ms (${f.node_start_cpu_ms})`],
  ];
}
