import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
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

/**
 * A gzip bomb: one tar entry declaring `inflatedBytes` of zeros, gzipped at level 9 (about 1000:1,
 * so 2 GiB packs into ~2 MiB). Returns the path of the .tar.gz.
 */
export async function makeGzipBomb(dir: string, name: string, inflatedBytes: number): Promise<string> {
  const header = Buffer.alloc(512);
  new tar.Header({ path: 'zeros.bin', type: 'File', mode: 0o644, size: inflatedBytes, mtime: new Date(0) }).encode(header);
  const zeros = Buffer.alloc(1024 * 1024);
  async function* tarStream(): AsyncGenerator<Buffer> {
    yield header;
    for (let left = inflatedBytes; left > 0; left -= zeros.length) yield zeros.subarray(0, Math.min(left, zeros.length));
    yield Buffer.alloc((512 - (inflatedBytes % 512)) % 512 + 1024); // padding, then the end-of-archive blocks
  }
  const file = path.join(dir, `${name}.tar.gz`);
  await pipeline(Readable.from(tarStream()), createGzip({ level: 9 }), createWriteStream(file));
  return file;
}
