import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { BadRequestError, ErrorCode, FerryError } from '../../../shared/errors.js';

/** Largest JSON request body, in bytes, as sent or once inflated (past it: 413). */
export const JSON_BODY_LIMIT_BYTES = 8 * 1024 * 1024;

/**
 * Deepest nesting of arrays and objects a JSON body may have. Far deeper than any real params,
 * and far below where a recursive step on the way gives out: msgpack packing for the store, or a
 * runtime's own JSON decoder (Python's stops near 1,000).
 */
export const JSON_MAX_DEPTH = 128;

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

/** The whole body as text, at most {@link JSON_BODY_LIMIT_BYTES}: 413 past it, 400 if it cannot be inflated or is not UTF-8. */
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
      if (size > JSON_BODY_LIMIT_BYTES) return fail(new FerryError(ErrorCode.BODY_TOO_LARGE, `request body over the ${JSON_BODY_LIMIT_BYTES}-byte limit of a JSON body`));
      chunks.push(chunk);
    });
    stream.on('end', () => {
      if (failed) return;
      const bytes = Buffer.concat(chunks, size);
      // Decoded as it is, bytes that are not UTF-8 would be stored as U+FFFD: changed, not refused.
      if (!isUtf8(bytes)) reject(new BadRequestError('request body is not valid UTF-8'));
      else resolve(bytes.toString('utf8'));
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
  return parseJson(text, 'request body is not valid JSON');
}

/** `text` as JSON; BAD_REQUEST with `notJson` when it is not, or when it nests past {@link JSON_MAX_DEPTH}. */
export function parseJson(text: string, notJson: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    throw new BadRequestError(notJson);
  }
  if (nestsDeeperThan(value, JSON_MAX_DEPTH)) throw new BadRequestError(`request body nests deeper than ${JSON_MAX_DEPTH} levels`);
  return value;
}

/** Walked with a stack of its own, so a deep value cannot overflow this one. */
function nestsDeeperThan(value: unknown, maxDepth: number): boolean {
  const open: [unknown, number][] = [[value, 1]];
  for (let next = open.pop(); next !== undefined; next = open.pop()) {
    const [node, depth] = next;
    if (node === null || typeof node !== 'object') continue;
    if (depth > maxDepth) return true;
    for (const child of Object.values(node)) if (child !== null && typeof child === 'object') open.push([child, depth + 1]);
  }
  return false;
}
