import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBundle, makeGzipBomb, makeRawTar } from '../helpers/bundles.js';
import { HOSTILE_RUNTIME, refusedSince, startHostileCluster, type HostileCluster } from '../helpers/hostile-cluster.js';
import { http, upload } from '../helpers/http.js';

const MAX_ENTRIES = 5;
const MAX_UNPACKED = 1024 * 1024;
const ok = { 'main.sh': 'echo ok\n' };

type Made = (dir: string) => Promise<string>;

/**
 * Each kind of hostile bundle, made by hand where node-tar will not make it, pushed to both push
 * routes. api-v1.test.ts also pushes links, `..` and absolute paths packed by node-tar from a
 * folder; api-push-early-answer.test.ts a 2 GiB gzip bomb, refused while it still arrives.
 */
const hostile: [string, Made, string][] = [
  ['an entry climbing out with ".."', (dir) => makeRawTar(dir, 'dotdot', [{ path: 'main.sh', type: 'File', body: 'x' }, { path: '../../escape.sh', type: 'File', body: 'x' }]), 'path "../../escape.sh" climbs out with ".."'],
  ['an absolute path', (dir) => makeRawTar(dir, 'absolute', [{ path: '/etc/cron.d/evil', type: 'File', body: 'x' }]), 'absolute path "/etc/cron.d/evil"'],
  ['a symlink pointing out', (dir) => makeRawTar(dir, 'symlink', [{ path: 'passwd', type: 'SymbolicLink', linkpath: '/etc/passwd' }]), 'link "passwd" (links are not allowed)'],
  ['a hard link pointing out', (dir) => makeRawTar(dir, 'hardlink', [{ path: 'shadow', type: 'Link', linkpath: '../../../../etc/shadow' }]), 'link "shadow" (links are not allowed)'],
  ['a device file', (dir) => makeRawTar(dir, 'device', [{ path: 'null', type: 'CharacterDevice' }]), '"null" is a CharacterDevice (only files and folders are allowed)'],
  ['a fifo', (dir) => makeRawTar(dir, 'fifo', [{ path: 'pipe', type: 'FIFO' }]), '"pipe" is a FIFO (only files and folders are allowed)'],
  [
    `more than FERRY_MAX_BUNDLE_ENTRIES (${MAX_ENTRIES}) entries`,
    (dir) => makeRawTar(dir, 'many', Array.from({ length: MAX_ENTRIES + 1 }, (_, i) => ({ path: `f${i}.sh`, type: 'File' as const, body: 'x' }))),
    `more than ${MAX_ENTRIES} entries`,
  ],
  [
    'a tar bomb: 16 MiB of zeros packed into ~16 KiB, past FERRY_MAX_UNPACKED_BYTES',
    (dir) => makeGzipBomb(dir, 'bomb', 16 * 1024 * 1024),
    `more than ${MAX_UNPACKED} bytes unpacked`,
  ],
  ['a tar that is not gzipped', (dir) => makeRawTar(dir, 'bare', [{ path: 'main.sh', type: 'File', body: 'x' }], { gzip: false }), 'it is not gzip'],
  ['bytes that are no archive at all', (dir) => writeTo(dir, 'text.tar.gz', Buffer.from('#!/bin/sh\nrm -rf /\n')), 'it is not gzip'],
  ['a truncated gzip', async (dir) => writeTo(dir, 'cut.tar.gz', (await readFile((await makeBundle(dir, 'whole', ok)).file)).subarray(0, 40)), 'not a readable tar.gz: zlib: unexpected end of file'],
  ['an empty file', (dir) => writeTo(dir, 'empty.tar.gz', Buffer.alloc(0)), 'the file is empty'],
];

async function writeTo(dir: string, name: string, bytes: Buffer): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, bytes);
  return file;
}

// Fake node: the bundles are refused by the api; a container adds nothing to that.
describe('hostile bundles (real cluster, fake driver)', () => {
  let h: HostileCluster;
  let dir: string;
  beforeAll(async () => {
    h = await startHostileCluster('hx-bundles', { FERRY_MAX_BUNDLE_ENTRIES: String(MAX_ENTRIES), FERRY_MAX_UNPACKED_BYTES: String(MAX_UNPACKED) });
    dir = path.join(h.c.dir, 'hostile-bundles');
    await mkdir(dir);
  });
  afterAll(async () => h?.close());

  it.each(hostile)('refuses %s on both push routes with the reason, stores nothing, and serves on', async (_what, make, reason) => {
    const file = await make(dir);
    const before = await h.refused();
    for (const route of [`/v1/functions/hx-evil?runtime=${HOSTILE_RUNTIME}`, `/registerFunction/${HOSTILE_RUNTIME}/hx-evil`]) {
      const r = await upload<{ error: { code: string; message: string } }>(`${h.c.url}${route}`, file);
      expect({ route, status: r.status, code: r.body.error.code }).toEqual({ route, status: 400, code: 'BAD_REQUEST' });
      expect(r.body.error.message).toContain(reason);
    }
    expect(refusedSince(before.api, (await h.refused()).api)).toEqual({ BAD_REQUEST: 2 });
    expect((await http('GET', `${h.c.url}/v1/functions/hx-evil`)).status).toBe(404);
    await h.stillServes();
  });
});
