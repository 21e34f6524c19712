import { once } from 'node:events';
import http from 'node:http';
import { withAuth } from './http.js';

export interface StreamedUploadReply {
  status: number;
  body: unknown;
  /** `response` and `body sent` (the client's last byte handed to the OS), in the order they happened. */
  events: string[];
  /** Body bytes the client had written when the response arrived, of `total`. */
  sentAtResponse: number;
  total: number;
}

/**
 * POSTs a multipart push with node:http, `fields` first and then field `module` with `file`'s
 * bytes, writing only as fast as the server reads: each write past the socket's buffer waits for
 * 'drain'. A server that answers without reading the body lets the response in long before the
 * last byte; one that reads it all first answers after. Keep-alive, so a server that answers
 * early reads the rest off the wire rather than dropping the connection.
 */
export async function streamedUpload(url: string, fields: readonly (readonly [string, string])[], file: { bytes: number; chunks: () => Iterable<Buffer> }): Promise<StreamedUploadReply> {
  const boundary = `ferry-${Math.random().toString(36).slice(2)}`;
  const head = Buffer.from(
    fields.map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`).join('') +
      `--${boundary}\r\nContent-Disposition: form-data; name="module"; filename="bundle.tar.gz"\r\nContent-Type: application/gzip\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const total = head.length + file.bytes + tail.length;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const events: string[] = [];
  let sent = 0;
  let sentAtResponse = -1;
  const req = http.request(url, {
    method: 'POST',
    agent,
    headers: withAuth(url, { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(total) }),
  });
  const response = new Promise<http.IncomingMessage>((resolve, reject) => {
    req.once('response', (res) => {
      events.push('response');
      sentAtResponse = sent;
      resolve(res);
    });
    req.once('error', reject);
  });
  try {
    // Once a response is in, node's client no longer passes the socket's 'drain' on to the
    // request, so the socket's is awaited too.
    const drained = (): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        const socket = req.socket;
        const settle = (err?: Error): void => {
          req.off('drain', onDrain);
          socket?.off('drain', onDrain);
          req.off('error', settle);
          if (err) reject(err);
          else resolve();
        };
        const onDrain = (): void => settle();
        req.on('drain', onDrain);
        socket?.on('drain', onDrain);
        req.on('error', settle);
      });
    const write = async (bytes: Buffer): Promise<void> => {
      sent += bytes.length;
      if (!req.write(bytes)) await drained();
    };
    await write(head);
    let fileBytes = 0;
    for (const chunk of file.chunks()) {
      fileBytes += chunk.length;
      await write(chunk);
    }
    if (fileBytes !== file.bytes) throw new Error(`the file gave ${fileBytes} bytes, not ${file.bytes}`);
    await write(tail);
    req.end();
    await once(req, 'finish');
    events.push('body sent');
    const res = await response;
    let text = '';
    for await (const part of res) text += String(part);
    return { status: res.statusCode ?? 0, body: JSON.parse(text) as unknown, events, sentAtResponse, total };
  } finally {
    agent.destroy();
  }
}

/** `bytes` bytes (at least `prefix.length`) as pieces of at most 1 MiB: `prefix` first, zeros after. */
export function* zerosAfter(prefix: Buffer, bytes: number): Generator<Buffer> {
  const zeros = Buffer.alloc(1024 * 1024);
  for (let at = 0; at < prefix.length; at += zeros.length) yield prefix.subarray(at, at + zeros.length);
  for (let left = bytes - prefix.length; left > 0; left -= zeros.length) yield zeros.subarray(0, Math.min(left, zeros.length));
}
