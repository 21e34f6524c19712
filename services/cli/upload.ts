import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { randomUUID } from 'node:crypto';
import cliProgress from 'cli-progress';
import { parseOrText, unreachable, type ApiClient } from './api-client.js';

/**
 * POSTs `file` to `path` on the cluster as multipart field `module` after `fields` (name, value;
 * a name may repeat), streaming it from disk with a progress bar (bytes, rate) on stderr when
 * stderr is a terminal. Resolves with the JSON reply.
 */
export async function uploadBundle<T>(api: ApiClient, path: string, file: string, fields: ReadonlyArray<readonly [string, string]>, showProgress: boolean): Promise<T> {
  const size = (await stat(file)).size;
  const boundary = `----ferry${randomUUID()}`;
  const head = Buffer.from(
    fields
      .map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`)
      .join('') +
      `--${boundary}\r\nContent-Disposition: form-data; name="module"; filename="bundle.tar.gz"\r\n` +
      'Content-Type: application/gzip\r\n\r\n',
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const target = new URL(api.base + path);
  const bar = showProgress
    ? new cliProgress.SingleBar(
        { format: 'uploading [{bar}] {percentage}% {value}/{total} bytes, {speed}', hideCursor: true },
        cliProgress.Presets.shades_classic,
      )
    : null;
  const started = Date.now();
  bar?.start(size, 0, { speed: '-' });

  return new Promise<T>((resolve, reject) => {
    const req = (target.protocol === 'https:' ? https : http).request(
      target,
      { method: 'POST', headers: api.headers({ 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(head.length + size + tail.length) }) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          bar?.stop();
          const text = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 500) >= 400) reject(api.error(res.statusCode ?? 500, text));
          else resolve(parseOrText(text) as T);
        });
      },
    );
    req.on('error', (err) => {
      bar?.stop();
      reject(unreachable(target.origin, err));
    });
    req.write(head);
    let sent = 0;
    const stream = createReadStream(file);
    stream.on('data', (chunk) => {
      sent += chunk.length;
      const seconds = Math.max((Date.now() - started) / 1000, 0.001);
      bar?.update(sent, { speed: `${(sent / 1024 / 1024 / seconds).toFixed(1)} MB/s` });
    });
    stream.on('error', reject);
    stream.on('end', () => req.end(tail));
    stream.pipe(req, { end: false });
  });
}
