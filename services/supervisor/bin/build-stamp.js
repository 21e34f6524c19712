// Whether dist/ was built from the sources as they are now, so `npm start` can skip the build.
// Plain JavaScript: it runs before anything is built (a fresh clone has no dist/).
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Every file under these folders is an input of `npm run build` (tsc and the dashboard's Vite build). */
const INPUT_DIRS = ['shared', 'services', 'packages', 'test', 'ui', 'runtimes/exec-agent'];
/** And these files at the repository's root: compiler settings, scripts, dependency versions. */
const INPUT_FILES = ['package.json', 'package-lock.json', 'tsconfig.json'];
const SKIPPED_DIRS = new Set(['node_modules', 'dist']);

/** dist/.build-inputs: the inputs' hash of the last build that ended well. */
export const stampFile = (repoDir) => path.join(repoDir, 'dist', '.build-inputs');
/** Written before a build starts, made the stamp only once the build succeeded. */
const pendingFile = (repoDir) => `${stampFile(repoDir)}.pending`;

function filesUnder(repoDir, dir, into) {
  let entries;
  try {
    entries = readdirSync(path.join(repoDir, dir), { withFileTypes: true });
  } catch (err) {
    if (err.code === 'ENOENT') return;
    throw err;
  }
  for (const e of entries) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) {
      if (!SKIPPED_DIRS.has(e.name)) filesUnder(repoDir, rel, into);
    } else if (e.isFile()) into.push(rel);
  }
}

/**
 * A hash of the build's inputs: each file's path and content (not its time, which a checkout or a
 * copy changes without changing what is built). A file added, removed or edited changes it.
 */
export function buildInputsHash(repoDir) {
  const files = [...INPUT_FILES];
  for (const dir of INPUT_DIRS) filesUnder(repoDir, dir, files);
  files.sort();
  const hash = createHash('sha256');
  for (const rel of files) {
    let content;
    try {
      content = readFileSync(path.join(repoDir, rel));
    } catch (err) {
      if (err.code === 'ENOENT') continue;
      throw err;
    }
    hash.update(`${rel}\0${content.length}\0`).update(content);
  }
  return hash.digest('hex');
}

/** Whether dist/ holds a build of the inputs as they are now. */
export function buildIsCurrent(repoDir) {
  let stamp;
  try {
    stamp = readFileSync(stampFile(repoDir), 'utf8').trim();
  } catch {
    return false;
  }
  return stamp === buildInputsHash(repoDir);
}

/** Before a build: remembers what it is built from (the inputs may change while it runs). */
export function beginBuild(repoDir) {
  mkdirSync(path.dirname(stampFile(repoDir)), { recursive: true });
  writeFileSync(pendingFile(repoDir), buildInputsHash(repoDir) + '\n');
}

/** After a build that succeeded: its inputs' hash becomes the stamp. */
export function endBuild(repoDir) {
  renameSync(pendingFile(repoDir), stampFile(repoDir));
}

// `npm run build` calls this as its prebuild (`begin`) and postbuild (`end`) step.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const repoDir = process.cwd();
  const step = process.argv[2];
  if (step === 'begin') beginBuild(repoDir);
  else if (step === 'end') endBuild(repoDir);
  else {
    process.stderr.write('usage: build-stamp.js begin|end (run from the repository root)\n');
    process.exit(2);
  }
}
