import { execFile } from 'node:child_process';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { repoDir } from '../helpers/fixtures.js';
import { makeTempDir } from '../helpers/temp.js';

const run = promisify(execFile);

/**
 * `npm start` in a copy of the repository's start scripts whose build is a stand-in: it counts
 * its runs and writes a supervisor that says it ran. The real prebuild/postbuild steps stamp it.
 */
describe('npm start builds only when the sources changed', () => {
  let dir: string;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ dir, cleanup } = await makeTempDir('ferry-start-'));
    await cp(path.join(repoDir, 'services', 'supervisor', 'bin'), path.join(dir, 'services', 'supervisor', 'bin'), { recursive: true });
    const real = JSON.parse(await readFile(path.join(repoDir, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const scripts = { prebuild: real.scripts['prebuild'], build: 'node build.mjs', postbuild: real.scripts['postbuild'], start: real.scripts['start'] };
    await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'start-fixture', private: true, type: 'module', scripts }));
    await writeFile(path.join(dir, 'package-lock.json'), '{"lockfileVersion":3}\n');
    await writeFile(path.join(dir, 'tsconfig.json'), '{}\n');
    await mkdir(path.join(dir, 'shared'));
    await writeFile(path.join(dir, 'shared', 'a.ts'), 'export const a = 1;\n');
    await writeFile(
      path.join(dir, 'build.mjs'),
      `import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
appendFileSync('builds.log', 'built\\n');
if (process.env.BUILD_FAILS) process.exit(1);
mkdirSync('dist/services/supervisor', { recursive: true });
writeFileSync('dist/services/supervisor/main.js', "process.stdout.write('supervisor ran\\\\n');\\n");
`,
    );
  });
  afterEach(async () => cleanup());

  /** Runs `npm start`; answers whether it built and what the supervisor printed. */
  async function start(env: Record<string, string> = {}): Promise<{ built: boolean; ran: boolean; code: number }> {
    const before = await builds();
    const out = await run('npm', ['start', '--silent'], { cwd: dir, env: { ...process.env, ...env } }).then(
      (r) => ({ stdout: r.stdout, code: 0 }),
      (err: { stdout?: string; code?: number }) => ({ stdout: err.stdout ?? '', code: err.code ?? 1 }),
    );
    return { built: (await builds()) > before, ran: out.stdout.includes('supervisor ran'), code: out.code };
  }
  const builds = async (): Promise<number> =>
    (await readFile(path.join(dir, 'builds.log'), 'utf8').catch(() => '')).split('\n').filter(Boolean).length;

  it('builds a fresh clone, then starts without building while nothing changed', async () => {
    expect(await start()).toEqual({ built: true, ran: true, code: 0 });
    expect(await start()).toEqual({ built: false, ran: true, code: 0 });
    expect(await start()).toEqual({ built: false, ran: true, code: 0 });
  });

  it('builds again after a source is edited, added or removed, or the lock file or tsconfig changes', async () => {
    await start();
    const changes: [string, () => Promise<void>][] = [
      ['a source edited', () => writeFile(path.join(dir, 'shared', 'a.ts'), 'export const a = 2;\n')],
      ['a source added', () => writeFile(path.join(dir, 'shared', 'b.ts'), 'export const b = 1;\n')],
      ['a source removed', () => rm(path.join(dir, 'shared', 'b.ts'))],
      ['the lock file changed', () => writeFile(path.join(dir, 'package-lock.json'), '{"lockfileVersion":3,"packages":{}}\n')],
      ['tsconfig changed', () => writeFile(path.join(dir, 'tsconfig.json'), '{"compilerOptions":{}}\n')],
    ];
    for (const [what, change] of changes) {
      await change();
      expect(await start(), what).toEqual({ built: true, ran: true, code: 0 });
      expect(await start(), `${what}, then nothing`).toEqual({ built: false, ran: true, code: 0 });
    }
  });

  it('a failed build does not start the cluster and is tried again at the next start', async () => {
    await start();
    await writeFile(path.join(dir, 'shared', 'a.ts'), 'export const a = 3;\n');
    const failed = await start({ BUILD_FAILS: '1' });
    expect(failed.built).toBe(true);
    expect(failed.ran).toBe(false);
    expect(failed.code).not.toBe(0);
    expect(await start()).toEqual({ built: true, ran: true, code: 0 });
  });
});
