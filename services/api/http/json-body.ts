import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { BadRequestError, ErrorCode, FerryError } from '../../../shared/errors.js';

/** Largest JSON request body, in bytes, as sent or once inflated (past it: 413). */
export const JSON_BODY_LIMIT_BYTES = 8 * 1024 * 1024;

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

export function isJson(req: IncomingMessage): boolean {
  const type = req.headers['content-type'];
  return type !== undefined && JSON_TYPE.test(type);
}

/** The body, inflated as its `content-encoding` says. */
function decoded(req: IncomingMessage): Readable {
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  switch (encoding) {
    case 'identity':
      return req;
    case 'gzip':
      return req.pipe(createGunzip());
    case 'deflate':
      return req.pipe(createInflate());
    case 'br':
      return req.pipe(createBrotliDecompress());
    default:
      throw new BadRequestError(`unsupported content-encoding "${encoding.slice(0, 40)}": send identity, gzip, deflate or br`);
  }
}

/** The whole body as text, at most {@link JSON_BODY_LIMIT_BYTES}: 413 past it, 400 if it cannot be inflated. */
export function readBodyText(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let stream: Readable;
    try {
      stream = decoded(req);
    } catch (err) {
      req.resume();
      reject(err);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    const fail = (err: FerryError): void => {
      if (failed) return;
      failed = true;
      chunks.length = 0;
      req.resume(); // drain the rest, so the answer can go out on a kept-alive connection
      reject(err);
    };
    stream.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > JSON_BODY_LIMIT_BYTES) return fail(new FerryError(ErrorCode.BUNDLE_TOO_LARGE, 'request body too large'));
      chunks.push(chunk);
    });
    stream.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks, size).toString('utf8'));
    });
    stream.on('error', () => fail(new BadRequestError('request body could not be read (a broken compressed body?)')));
    if (stream !== req) req.on('error', () => fail(new BadRequestError('request body could not be read')));
  });
}

/**
 * The api's one reader of JSON bodies (every route's and the invoke route's): any JSON value, an
 * empty body as `{}`. Throws BAD_REQUEST when it is not JSON, 413 past the limit.
 */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const text = await readBodyText(req);
  if (text.length === 0) return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BadRequestError('request body is not valid JSON');
  }
}
