import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Builds the runtime images once before the suite (a no-op when they are current). The container
 * tests need a Docker engine: `.ci/run` starts one; without it they fail rather than skip.
 */
export default function setup(): void {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  execFileSync('bash', [path.join(root, 'runtimes', 'build.sh'), 'all'], { stdio: 'inherit' });
}
