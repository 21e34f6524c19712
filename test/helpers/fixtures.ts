import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The repository: two folders up from test/helpers, three from dist/test/helpers (the bench runs built). */
export const repoDir = [path.resolve(here, '../..'), path.resolve(here, '../../..')].find((d) => existsSync(path.join(d, 'test', 'fixtures')))!;

/** The files of `test/fixtures/functions/<name>` (one behaviour each), ready for a bundle. */
export async function fixture(name: string): Promise<Record<string, string>> {
  const dir = path.join(repoDir, 'test', 'fixtures', 'functions', name);
  const files: Record<string, string> = {};
  for (const f of await readdir(dir)) files[f] = await readFile(path.join(dir, f), 'utf8');
  return files;
}

/** The files of an example function under `runtimes/`. */
export async function example(rel: string): Promise<Record<string, string>> {
  const dir = path.join(repoDir, 'runtimes', rel);
  const files: Record<string, string> = {};
  for (const f of await readdir(dir)) files[f] = await readFile(path.join(dir, f), 'utf8');
  return files;
}
