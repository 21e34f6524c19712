import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tar from 'tar';

/** Writes `files` into a folder and packs them as a tar.gz bundle (code at its root). */
export async function makeBundle(dir: string, name: string, files: Record<string, string>): Promise<{ file: string; sha256: string; size: number }> {
  const src = path.join(dir, `${name}-src`);
  await mkdir(src, { recursive: true });
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(src, rel)), { recursive: true });
    await writeFile(path.join(src, rel), text);
  }
  const file = path.join(dir, `${name}.tar.gz`);
  await tar.c({ gzip: true, file, cwd: src, portable: true }, Object.keys(files));
  const bytes = await readFile(file);
  return { file, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
}
