import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { answerError, ClientErrorCode, FerryError, unreachable } from './errors.js';

/** A multipart field as sent, in order: name, value (a name may repeat). */
export type FormField = readonly [string, string];

export interface UploadRequest {
  url: URL;
  headers: Record<string, string>;
  /** The fields sent before the file, in order. */
  fields: readonly FormField[];
  /** The file's field. */
  fileField: string;
  /** A path, streamed from disk, or the bytes themselves. */
  file: string | Uint8Array;
  /** Called as bytes of the file go out. */
  onProgress?: ((sentBytes: number, totalBytes: number) => void) | undefined;
}

/**
 * POSTs `fields` then the file as `multipart/form-data` with a Content-Length, streaming a file
 * from disk as it is read (an upload of any size in little memory). Node's own HTTP client, not
 * fetch: an answer the server sends before the body is all read (a refused name, a bad bundle)
 * is read as it comes, while fetch would fail on the connection it closes.
 * Resolves with the JSON answer.
 * @throws FerryError the server's error answer, UNREACHABLE, BAD_REPLY for an answer not JSON
 */
export async function postMultipart(r: UploadRequest): Promise<unknown> {
  const size = typeof r.file === 'string' ? (await stat(r.file)).size : r.file.byteLength;
  const boundary = `----ferry${randomUUID()}`;
  const head = Buffer.from(
    r.fields.map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`).join('') +
      `--${boundary}\r\nContent-Disposition: form-data; name="${r.fileField}"; filename="bundle.tar.gz"\r\n` +
      'Content-Type: application/gzip\r\n\r\n',
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const headers = { ...r.headers, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(head.length + size + tail.length) };

  return new Promise<unknown>((resolve, reject) => {
    const req = (r.url.protocol === 'https:' ? https : http).request(r.url, { method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('error', (err) => reject(unreachable(r.url.origin, err)));
      res.on('end', () => {
        const status = res.statusCode ?? 500;
        const text = Buffer.concat(chunks).toString('utf8');
        if (status >= 400) return reject(answerError(status, text));
        try {
          resolve(JSON.parse(text));
        } catch {
          reject(new FerryError(ClientErrorCode.BAD_REPLY, status, `the cluster answered POST ${r.url.pathname} with a body that is not JSON: ${text.slice(0, 120)}`));
        }
      });
    });
    req.on('error', (err) => reject(unreachable(r.url.origin, err)));
    req.write(head);
    let sent = 0;
    const stream = typeof r.file === 'string' ? createReadStream(r.file) : Readable.from([Buffer.from(r.file)]);
    stream.on('data', (chunk: Buffer) => {
      sent += chunk.length;
      r.onProgress?.(sent, size);
    });
    stream.on('error', (err: Error) => {
      req.destroy();
      reject(err);
    });
    stream.on('end', () => req.end(tail));
    stream.pipe(req, { end: false });
  });
}
