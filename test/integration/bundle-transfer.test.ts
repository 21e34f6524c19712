import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBundle } from '../helpers/bundles.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { http as request, upload, withAuth } from '../helpers/http.js';
import { waitUntil } from '../helpers/temp.js';

const MiB = 1024 * 1024;
const NODE = 'nb-transfer';

/** Lists every file under the function's folder with its sha256 and mode, as the call sees them. */
const LISTER = `import hashlib, os

def main(params, ctx=None):
    root = os.path.dirname(os.path.abspath(__file__))
    out = {}
    for folder, _dirs, names in os.walk(root):
        for name in names:
            full = os.path.join(folder, name)
            with open(full, 'rb') as f:
                out[os.path.relpath(full, root)] = hashlib.sha256(f.read()).hexdigest()
    return out
`;

const sha256 = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex');

interface Call {
  id: string;
  status: string;
  result: string;
}

/** Bundles stored by the registry (its temp folder apart). */
async function storedBundles(c: Cluster): Promise<string[]> {
  const dir = path.join(c.dir, 'registry');
  const shards = (await readdir(dir)).filter((d) => d !== 'tmp');
  return (await Promise.all(shards.map(async (s) => readdir(path.join(dir, s))))).flat().sort();
}

// A real node (Docker): the files a call reads are what the worker unpacked.
describe('large bundles, pushed and pulled (real cluster, Docker)', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster({ workers: [NODE] });
    const runtime = { name: 'nb-py', image: 'pythonruntime', path: '/ws', run: 'main.py', protocol: 'agent' };
    expect((await request('POST', `${c.url}/v1/runtimes`, runtime)).status).toBe(201);
  });
  afterAll(async () => c?.close());

  it('pulls a 40 MiB bundle to the node and unpacks exactly its files, byte for byte', async () => {
    const files: Record<string, string | Buffer> = {
      'main.py': LISTER,
      'data/blob.bin': randomBytes(40 * MiB),
      'data/deep/er/small.txt': 'a small file beside a large one\n',
      'lib/helper.py': 'VALUE = 42\n',
    };
    const bundle = await makeBundle(c.dir, 'nb-large', files);
    const pushed = await upload<{ sha256: string; size: number }>(`${c.url}/v1/functions/nb-large`, bundle.file, { runtime: 'nb-py' });
    expect(pushed.status).toBe(201);
    // The address the registry answers is the hash of the exact bytes sent, however they were cut up on the way.
    expect(pushed.body).toMatchObject({ sha256: bundle.sha256, size: bundle.size });

    const call = await request<Call>('POST', `${c.url}/v1/functions/nb-large/invoke?wait=true`, {});
    expect(call.status).toBe(200);
    expect(JSON.parse(call.body.result)).toEqual(Object.fromEntries(Object.entries(files).map(([name, content]) => [name, sha256(content)])));
  });

  it('stores nothing of a push whose client goes away halfway, and takes the same bundle whole afterwards', async () => {
    const bundle = await makeBundle(c.dir, 'nb-cut', { 'main.py': LISTER, 'blob.bin': randomBytes(24 * MiB) });
    const bytes = await readFile(bundle.file);
    const before = await storedBundles(c);
    const tmp = path.join(c.dir, 'registry', 'tmp');

    const boundary = 'nb-cut-boundary';
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="runtime"\r\n\r\nnb-py\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="module"; filename="bundle.tar.gz"\r\nContent-Type: application/gzip\r\n\r\n`,
    );
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const url = `${c.url}/v1/functions/nb-cut`;
    const req = http.request(url, {
      method: 'POST',
      headers: withAuth(url, { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(head.length + bytes.length + tail.length) }),
    });
    const ended = new Promise<void>((resolve) => {
      req.once('error', () => resolve());
      req.once('close', () => resolve());
    });
    req.write(head);
    // Half the bundle, then the client is gone once the registry has begun to store it.
    req.write(bytes.subarray(0, bytes.length / 2));
    await waitUntil(async () => (await readdir(tmp)).length > 0, 'the registry opened a temp file for the upload', 30_000);
    req.destroy();
    await ended;
    await waitUntil(async () => (await readdir(tmp)).length === 0, 'the registry dropped the upload', 30_000);

    expect(await storedBundles(c)).toEqual(before);
    expect((await request('GET', `${c.url}/v1/functions/nb-cut`)).status).toBe(404);

    const whole = await upload<{ sha256: string }>(url, bundle.file, { runtime: 'nb-py' });
    expect(whole.status).toBe(201);
    expect(whole.body.sha256).toBe(bundle.sha256);
    expect(await storedBundles(c)).toEqual([...before, bundle.sha256].sort());
  });
});
