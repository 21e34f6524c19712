import { Packr } from 'msgpackr';
import type { z } from 'zod';
import { issuesText } from './issues-text.js';
import { ErrorCode, FerryError, type WireError } from '../errors.js';

/**
 * Frame layout of every Ferry message on a DEALER/ROUTER pair:
 *   [header][msgpack body][bulk frame]…
 * The header names the protocol and its version so a peer from another release is told, not
 * misread. Bulk bytes (bundles) always travel as extra frames, never inside the msgpack body.
 */
export const PROTOCOL_HEADER = 'FERRY01';
const headerFrame = Buffer.from(PROTOCOL_HEADER, 'ascii');

// Plain maps and no record structures: bodies stay readable by any msgpack decoder.
const packr = new Packr({ useRecords: false, mapsAsObjects: true });

export interface RequestEnvelope {
  /** Unique per logical request; a resend keeps it so the server can answer it once. */
  id: string;
  msgType: string;
  content: unknown;
}

export type ReplyEnvelope =
  | { id: string; ok: true; content: unknown }
  | { id: string; ok: false; error: WireError };

export interface Decoded<T> {
  body: T;
  bulk: Buffer[];
}

export function encodeFrames(body: RequestEnvelope | ReplyEnvelope, bulk: readonly Buffer[] = []): Buffer[] {
  return [headerFrame, packr.pack(body), ...bulk];
}

/** Splits and checks the header and body frames; throws a typed FerryError on anything malformed. */
export function decodeFrames(frames: readonly Buffer[]): Decoded<Record<string, unknown>> {
  const [header, body, ...bulk] = frames;
  if (header === undefined || body === undefined) {
    throw new FerryError(ErrorCode.BAD_FRAME, `expected header and body frames, got ${frames.length} frame(s)`);
  }
  if (!header.equals(headerFrame)) {
    const shown = header.subarray(0, 16).toString('latin1').replace(/[^\x20-\x7e]/g, '?');
    throw new FerryError(ErrorCode.UNSUPPORTED_PROTOCOL, `unsupported protocol header "${shown}", expected "${PROTOCOL_HEADER}"`);
  }
  let decoded: unknown;
  try {
    decoded = packr.unpack(body);
  } catch {
    throw new FerryError(ErrorCode.BAD_FRAME, 'body frame is not valid msgpack');
  }
  // msgpackr decodes some reserved bytes to marker objects: only a plain map is a body.
  const proto: unknown = decoded !== null && typeof decoded === 'object' ? Object.getPrototypeOf(decoded) : undefined;
  if (proto !== Object.prototype && proto !== null) {
    throw new FerryError(ErrorCode.BAD_FRAME, 'body frame must be a msgpack map');
  }
  return { body: decoded as Record<string, unknown>, bulk };
}

const requestFields: ReadonlySet<string> = new Set(['id', 'msgType', 'content']);
const eventFields: ReadonlySet<string> = new Set(['msgType', 'content']);

/**
 * Refuses a field the envelope of this protocol version does not have: a new field comes with a
 * new header version, so one here is a peer that is not speaking this version, not a newer one.
 */
function onlyKnownFields(body: Record<string, unknown>, known: ReadonlySet<string>): void {
  const unknown = Object.keys(body).find((k) => !known.has(k));
  if (unknown !== undefined) {
    throw new FerryError(ErrorCode.BAD_FRAME, `unknown envelope field "${unknown.slice(0, 64)}" in ${PROTOCOL_HEADER}`);
  }
}

/** Reads a request envelope; throws BAD_FRAME for a bad id or msgType, or a field it does not have. */
export function parseRequest(body: Record<string, unknown>): RequestEnvelope {
  const { id, msgType, content } = body;
  if (typeof id !== 'string' || id.length === 0 || id.length > 128) {
    throw new FerryError(ErrorCode.BAD_FRAME, 'request id must be a non-empty string of at most 128 characters');
  }
  if (typeof msgType !== 'string') {
    throw new FerryError(ErrorCode.BAD_FRAME, 'msgType must be a string');
  }
  onlyKnownFields(body, requestFields);
  return { id, msgType, content };
}

export function parseReply(body: Record<string, unknown>): ReplyEnvelope {
  const { id, ok } = body;
  if (typeof id !== 'string') throw new FerryError(ErrorCode.BAD_FRAME, 'reply id must be a string');
  if (ok === true) return { id, ok: true, content: body['content'] };
  if (ok === false) return { id, ok: false, error: body['error'] as WireError };
  throw new FerryError(ErrorCode.BAD_FRAME, 'reply must carry ok: true or ok: false');
}

/** A one-way message (no request id): the API ↔ worker and broker ↔ miniworker channels. */
export interface EventEnvelope {
  msgType: string;
  content: unknown;
}

export function encodeEvent(msgType: string, content: unknown, bulk: readonly Buffer[] = []): Buffer[] {
  return [headerFrame, packr.pack({ msgType, content }), ...bulk];
}

/**
 * Decodes a one-way message and validates its content against the schema for its msgType.
 * Throws a typed FerryError (BAD_FRAME, UNSUPPORTED_PROTOCOL, UNKNOWN_MSG_TYPE, BAD_REQUEST).
 */
export function decodeEvent<S extends Record<string, z.ZodType>>(
  frames: readonly Buffer[],
  schemas: S,
): { [K in keyof S & string]: { msgType: K; content: z.output<S[K]>; bulk: Buffer[] } }[keyof S & string] {
  const { body, bulk } = decodeFrames(frames);
  const msgType = body['msgType'];
  if (typeof msgType !== 'string') throw new FerryError(ErrorCode.BAD_FRAME, 'msgType must be a string');
  onlyKnownFields(body, eventFields);
  const content = validateContent(schemas, msgType, body['content'], 'message');
  return { msgType, content, bulk } as never;
}

/** Validates `content` against the schema registered for `msgType`; throws UNKNOWN_MSG_TYPE or BAD_REQUEST. */
export function validateContent<S extends Record<string, z.ZodType>>(
  schemas: S,
  msgType: string,
  content: unknown,
  kind: 'request' | 'message',
): unknown {
  if (!Object.hasOwn(schemas, msgType)) {
    throw new FerryError(ErrorCode.UNKNOWN_MSG_TYPE, `unknown msgType "${msgType.slice(0, 64)}"`);
  }
  const parsed = (schemas[msgType] as z.ZodType).safeParse(content ?? {});
  if (!parsed.success) {
    throw new FerryError(ErrorCode.BAD_REQUEST, `bad ${msgType} ${kind}: ${issuesText(parsed.error, 'content')}`);
  }
  return parsed.data;
}
