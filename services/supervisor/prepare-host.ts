import { spawn, type StdioOptions } from 'node:child_process';
import path from 'node:path';
import type { Logger } from '../../shared/logger.js';

// Their progress lines go straight to the terminal.
function run(cmd: string, args: string[], stdio: StdioOptions = ['ignore', 'inherit', 'inherit']): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio });
    child.on('close', (code) => resolve(code ?? 1));
    child.on('error', () => resolve(1));
  });
}

// Asked without blocking: the supervisor starts its daemons meanwhile.
const dockerAnswers = async (): Promise<boolean> => (await run('docker', ['info'], 'ignore')) === 0;

/**
 * Gets the host ready for the Docker driver: starts (as root, installs) the engine when none
 * answers, then builds the runtime images when they are missing or stale. Returns false when
 * containers are not to be had; the worker then runs functions as processes.
 */
export async function prepareHost(repoDir: string, log: Logger): Promise<boolean> {
  if (!(await dockerAnswers())) {
    if (process.getuid?.() !== 0 || process.env['FERRY_ENSURE_DOCKER'] === '0') {
      log.warn('no Docker engine answers: functions will run as processes (start dockerd for containers)');
      return false;
    }
    log.info('no Docker engine answers: setting one up (deploy/ensure-docker.sh)');
    if ((await run('bash', [path.join(repoDir, 'deploy', 'ensure-docker.sh')])) !== 0 || !(await dockerAnswers())) {
      log.warn('the Docker engine could not be started: functions will run as processes');
      return false;
    }
  }
  log.info('checking the runtime images (runtimes/build.sh; the first build takes about a minute and a half)');
  if ((await run('bash', [path.join(repoDir, 'runtimes', 'build.sh'), 'all'])) !== 0) {
    log.warn('the runtime images could not be built: functions will run as processes');
    return false;
  }
  return true;
}
