import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoDir } from '../helpers/fixtures.js';
import { median, round, timeMs } from './stats.js';

const run = promisify(execFile);
const bin = path.join(repoDir, 'services', 'cli', 'bin', 'ferry.js');

/**
 * `ferry --version` as a user runs it, a new process each time: the median wall ms of `runs`
 * after one warm-up. What every command pays before its own work starts (node's own start included).
 */
export async function cliVersionMs(runs: number): Promise<number> {
  const once = (): Promise<number> => timeMs(() => run(process.execPath, [bin, '--version']));
  await once();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await once());
  return round(median(times), 1);
}
