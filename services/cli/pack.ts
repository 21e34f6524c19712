import { mkdtemp, readFile, readdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import ignore from 'ignore';
import * as tar from 'tar';
import { usage } from './cli-error.js';

/** Never packed: they are not function code. */
const ALWAYS_IGNORED = ['.git', '.ferryignore', 'node_modules/.cache'];

/**
 * A function folder as a tar.gz with the code at its root, leaving out what `.ferryignore`
 * (gitignore syntax) names. A .tar.gz given as is is used as is. Returns the file to upload.
 */
export async function packFunction(source: string): Promise<{ file: string; entries: number | null }> {
  const info = await stat(source).catch(() => null);
  if (!info) throw usage(`no such file or folder: ${source}`);
  if (info.isFile()) {
    if (!/\.(tar\.gz|tgz)$/.test(source)) throw usage(`${source} is not a folder or a .tar.gz`);
    return { file: source, entries: null };
  }
  const rules = ignore().add(ALWAYS_IGNORED);
  const ignoreFile = await readFile(path.join(source, '.ferryignore'), 'utf8').catch(() => '');
  rules.add(ignoreFile);
  const entries = (await readdir(source, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => path.relative(source, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .filter((rel) => !rules.ignores(rel))
    .sort();
  if (entries.length === 0) throw usage(`nothing to deploy in ${source} (everything is ignored or the folder is empty)`);
  const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'ferry-deploy-')), 'bundle.tar.gz');
  await tar.c({ gzip: true, file, cwd: source, portable: true }, entries);
  return { file, entries: entries.length };
}
