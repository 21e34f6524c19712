#!/usr/bin/env node
// `npm start`: builds Ferry only when its sources changed since the last build (or dist/ is
// missing, as on a fresh clone), then runs the supervisor in this same process.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIsCurrent } from './build-stamp.js';

const repoDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

if (!buildIsCurrent(repoDir)) {
  process.stderr.write('ferry: building (nothing built yet, or the sources changed since the last build)\n');
  const build = spawnSync('npm', ['run', 'build'], { cwd: repoDir, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
await import('../../../dist/services/supervisor/main.js');
