import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../shared/clients/registry-client.js';
import { encodeFrames } from '../../shared/protocol/envelope.js';
import { curveTo } from '../helpers/curve.js';
import { spawnDaemon, type DaemonProcess } from '../helpers/daemon.js';
import { rawPeer } from '../helpers/raw-peer.js';
import { makeTempDir } from '../helpers/temp.js';

const MiB = 1024 * 1024;

async function fileSha(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function peakRssMib(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

describe('registry daemon (real process)', () => {
  let daemon: DaemonProcess;
  let registry: RegistryClient;
  let dir: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ dir, cleanup } = await makeTempDir());
    daemon = await spawnDaemon('registry', {
      FERRY_DATA_DIR: dir,
      FERRY_REGISTRY_BIND: 'tcp://127.0.0.1:*',
      FERRY_MAX_BUNDLE_BYTES: String(150 * MiB),
      FERRY_LOG_LEVEL: 'info',
    });
    registry = new RegistryClient({ registryAddr: daemon.endpoint, requestTimeoutMs: 10_000, requestRetries: 0 }, curveTo(daemon.endpoint));
  });
  afterAll(async () => {
    await registry?.close();
    await daemon?.kill();
    await cleanup?.();
  });

  it('moves a 100 MiB bundle push → pull with an identical hash, holding it in memory at most about once', async () => {
    const src = path.join(dir, 'big.bin');
    const fh = await open(src, 'w');
    for (let i = 0; i < 100; i++) await fh.write(randomBytes(MiB));
    await fh.close();
    const want = await fileSha(src);

    expect(await registry.has(want)).toEqual({ exists: false, size: null });
    const put = await registry.putFile(src);
    expect(put).toEqual({ sha256: want, size: 100 * MiB, stored: true });
    expect(await registry.has(want)).toEqual({ exists: true, size: 100 * MiB });
    expect((await registry.putFile(src)).stored).toBe(false);

    const dest = path.join(dir, 'big.out');
    await registry.getToFile(want, dest, 100 * MiB);
    expect(await fileSha(dest)).toBe(want);
    // 100 MiB received and served twice, plus Node's own ~60 MiB: several whole copies would show.
    expect(await peakRssMib(daemon.proc.pid!)).toBeLessThan(100 * 3 + 150);

    expect(await registry.delete(want)).toEqual({ deleted: true });
    expect(await registry.has(want)).toEqual({ exists: false, size: null });
    await expect(registry.getToFile(want, dest)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses wrong hashes, oversize and truncated bundles, storing nothing', async () => {
    const bytes = randomBytes(3 * MiB);
    const sha = createHash('sha256').update(bytes).digest('hex');
    const chunks = [bytes.subarray(0, MiB), bytes.subarray(MiB, 2 * MiB), bytes.subarray(2 * MiB)];

    await expect(registry.putChunks(chunks, 'e'.repeat(64), bytes.length)).rejects.toMatchObject({ code: 'HASH_MISMATCH' });
    expect((await registry.has('e'.repeat(64))).exists).toBe(false);

    await expect(registry.putChunks(chunks.slice(0, 2), sha, bytes.length)).rejects.toMatchObject({ code: 'TRUNCATED' });
    await expect(registry.putChunks([], sha, 151 * MiB)).rejects.toMatchObject({ code: 'BUNDLE_TOO_LARGE' });
    expect((await registry.has(sha)).exists).toBe(false);
    expect(await readdir(path.join(dir, 'registry', 'tmp'))).toEqual([]);

    expect(await registry.putChunks(chunks, sha, bytes.length)).toMatchObject({ stored: true });
  });

  it('takes a bundle part by part: a wrong hash, an abort or an upload past the cap stores nothing', async () => {
    const bytes = randomBytes(5 * MiB);
    const sha = createHash('sha256').update(bytes).digest('hex');
    const up = registry.upload();
    for (let i = 0; i < 5; i++) await up.write(bytes.subarray(i * MiB, (i + 1) * MiB));
    expect(await up.commit()).toEqual({ sha256: sha, size: 5 * MiB, stored: true });
    const got: Buffer[] = [];
    expect(await registry.download(sha, (b) => void got.push(Buffer.from(b)))).toMatchObject({ sha256: sha, size: 5 * MiB });
    expect(Buffer.concat(got).equals(bytes)).toBe(true);

    const aborted = registry.upload();
    await aborted.write(randomBytes(3 * MiB));
    await aborted.abort();
    await expect(aborted.write(randomBytes(10))).rejects.toMatchObject({ code: 'CLOSED' });

    const raw = rawPeer(daemon.endpoint);
    try {
      const part = (id: string, uploadId: string, offset: number, b: Buffer): Buffer[] =>
        encodeFrames({ id, msgType: 'putPart', content: { uploadId, offset } }, [b]);
      expect(await raw.ask(part('p1', 'wrong-hash-1', 0, Buffer.from('hello')))).toBe('ok');
      const commit = { uploadId: 'wrong-hash-1', sha256: 'f'.repeat(64), size: 5 };
      expect(await raw.ask(encodeFrames({ id: 'p2', msgType: 'putCommit', content: commit }))).toBe('HASH_MISMATCH');
      expect(await raw.ask(part('p3', 'wrong-hash-1', 5, Buffer.from('more')))).toBe('NOT_FOUND');
    } finally {
      raw.close();
    }

    const big = registry.upload();
    const tooBig = (async () => {
      for (let i = 0; i < 152; i++) await big.write(randomBytes(MiB));
      return big.commit();
    })();
    await expect(tooBig).rejects.toMatchObject({ code: 'BUNDLE_TOO_LARGE' });
    await big.abort();
    expect((await registry.has('f'.repeat(64))).exists).toBe(false);
    expect(await readdir(path.join(dir, 'registry', 'tmp'))).toEqual([]);
  });

  it('answers malformed frames and unknown messages with typed errors and keeps serving', async () => {
    const raw = rawPeer(daemon.endpoint);
    const ask = raw.ask;
    try {
      expect(await ask([Buffer.from('FERRY99'), Buffer.from('x')])).toBe('UNSUPPORTED_PROTOCOL');
      expect(await ask([Buffer.from('FERRY01'), Buffer.from('not msgpack \xc1')])).toBe('BAD_FRAME');
      expect(await ask(encodeFrames({ id: 'q1', msgType: 'format', content: {} }))).toBe('UNKNOWN_MSG_TYPE');
      expect(await ask(encodeFrames({ id: 'q2', msgType: 'getBundle', content: { sha256: 'xyz' } }))).toBe('BAD_REQUEST');
      expect(await ask(encodeFrames({ id: 'q3', msgType: 'putBundle', content: { sha256: 'a'.repeat(64), size: 10 } }, [Buffer.alloc(4)]))).toBe('TRUNCATED');
    } finally {
      raw.close();
    }
    const small = Buffer.from('still serving');
    const sha = createHash('sha256').update(small).digest('hex');
    expect(await registry.putChunks([small], sha, small.length)).toMatchObject({ sha256: sha });
  });
});
