import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoDir = path.resolve(here, '../..');

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
