import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';

export interface TextAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/**
 * One request with Node's own HTTP client, its whole answer read as text. Not fetch: fetch loads
 * undici and compiles its HTTP parser at a process's first request, about 90 ms of CPU that a
 * one-call command (`ferry invoke`) would pay before its call. Rejects with the connection's
 * error (its `code`, such as ECONNREFUSED) when no answer comes.
 */
export function requestText(url: string, method: string, headers: Record<string, string>, body?: string): Promise<TextAnswer> {
  const target = new URL(url);
  const sent = body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) };
  return new Promise((resolve, reject) => {
    const req = (target.protocol === 'https:' ? https : http).request(target, { method, headers: sent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 500, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
