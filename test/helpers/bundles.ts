import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, gzipSync } from 'node:zlib';
import * as tar from 'tar';

/** Writes `files` into a folder and packs them as a tar.gz bundle (code at its root). */
export async function makeBundle(dir: string, name: string, files: Record<string, string | Buffer>): Promise<{ file: string; sha256: string; size: number }> {
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

/** One entry of a tar written by hand, of any type a tar can hold. */
export interface RawTarEntry {
  path: string;
  type: 'File' | 'Directory' | 'Link' | 'SymbolicLink' | 'CharacterDevice' | 'BlockDevice' | 'FIFO';
  /** File content; for a declared size without the bytes (a bomb streams them), see {@link tarHeader}. */
  body?: string;
  linkpath?: string;
}

/**
 * A tar header block written by hand: node-tar packs only what a folder holds, and will not put
 * a hard link to a file outside it, a device or an absolute path into a bundle on request.
 */
export function tarHeader(entry: Omit<RawTarEntry, 'body'> & { size: number }): Buffer {
  const block = Buffer.alloc(512);
  new tar.Header({ mode: 0o644, mtime: new Date(0), ...entry, ...(entry.type.endsWith('Device') ? { devmaj: 1, devmin: 3 } : {}) }).encode(block);
  return block;
}

/** The padding after `size` bytes of an entry's content, up to the next 512-byte block. */
const padding = (size: number): Buffer => Buffer.alloc((512 - (size % 512)) % 512);
/** Two zero blocks: the end of a tar. */
const endOfArchive = (): Buffer => Buffer.alloc(1024);

/** Writes `entries` as a tar of hand-written headers, gzipped unless `gzip` is false; returns its path. */
export async function makeRawTar(dir: string, name: string, entries: RawTarEntry[], options: { gzip?: boolean } = {}): Promise<string> {
  const blocks = entries.flatMap((e) => {
    const body = Buffer.from(e.body ?? '');
    return [tarHeader({ ...e, size: body.length }), body, padding(body.length)];
  });
  const bytes = Buffer.concat([...blocks, endOfArchive()]);
  const file = path.join(dir, `${name}.tar${options.gzip === false ? '' : '.gz'}`);
  await writeFile(file, options.gzip === false ? bytes : gzipSync(bytes));
  return file;
}

/**
 * A gzip bomb: one tar entry declaring `inflatedBytes` of zeros, gzipped at level 9 (about 1000:1,
 * so 2 GiB packs into ~2 MiB). Returns the path of the .tar.gz.
 */
export async function makeGzipBomb(dir: string, name: string, inflatedBytes: number): Promise<string> {
  const header = tarHeader({ path: 'zeros.bin', type: 'File', size: inflatedBytes });
  const zeros = Buffer.alloc(1024 * 1024);
  async function* tarStream(): AsyncGenerator<Buffer> {
    yield header;
    for (let left = inflatedBytes; left > 0; left -= zeros.length) yield zeros.subarray(0, Math.min(left, zeros.length));
    yield Buffer.concat([padding(inflatedBytes), endOfArchive()]);
  }
  const file = path.join(dir, `${name}.tar.gz`);
  await pipeline(Readable.from(tarStream()), createGzip({ level: 9 }), createWriteStream(file));
  return file;
}
