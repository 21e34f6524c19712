import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { onTestFinished } from 'vitest';
import { repoDir } from './fixtures.js';
import { tokenFor } from './http.js';

const run = promisify(execFile);
const bin = path.join(repoDir, 'services', 'cli', 'bin', 'ferry.js');

/** How a run of the CLI ended: its exit code and everything it printed. */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI's environment: the cluster's URL, and its key as `FERRY_TOKEN` when one is known; `env` laid over them. */
function cliEnv(url: string, env: Record<string, string>): NodeJS.ProcessEnv {
  const key = tokenFor(url);
  return { ...process.env, FERRY_URL: url, ...(key !== undefined ? { FERRY_TOKEN: key } : {}), ...env };
}

/** The built CLI run to its end against the cluster at `url`, as a user runs it. */
export async function runFerry(url: string, args: string[], env: Record<string, string> = {}): Promise<Ran> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { env: cliEnv(url, env) });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

export interface Watching extends Ran {
  ended: boolean;
  exited: Promise<Ran>;
}

/** The CLI started and left running, its output read as it comes; killed when the test ends. */
export function watchFerry(url: string, args: string[]): Watching {
  const child = spawn(process.execPath, [bin, ...args], { env: cliEnv(url, {}), stdio: ['ignore', 'pipe', 'pipe'] });
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  });
  const w: Watching = {
    code: -1,
    stdout: '',
    stderr: '',
    ended: false,
    exited: new Promise((resolve) =>
      child.once('close', (code) => {
        Object.assign(w, { ended: true, code: code ?? -1 });
        resolve({ code: w.code, stdout: w.stdout, stderr: w.stderr });
      }),
    ),
  };
  child.stdout.setEncoding('utf8').on('data', (d: string) => (w.stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (w.stderr += d));
  return w;
}
