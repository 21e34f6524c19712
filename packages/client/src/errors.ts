import type { ErrorCode } from '../../../shared/errors.js';

/** Codes of failures the client finds itself, where no error answer of the server names one. */
export const ClientErrorCode = {
  /** No answer: nothing listens at the URL, or the connection failed. */
  UNREACHABLE: 'UNREACHABLE',
  /** An error status without Ferry's JSON error body (a proxy's page, a server that is not Ferry). */
  HTTP_ERROR: 'HTTP_ERROR',
  /** A success that is not what the route answers: not JSON, not an event stream, an event that does not read. */
  BAD_REPLY: 'BAD_REPLY',
  /** An event stream that ended before its `end` event (the server went away, the connection was cut). */
  STREAM_CLOSED: 'STREAM_CLOSED',
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/**
 * The server's stable codes (docs/error-codes.md) and the client's own. A code this client does
 * not know, from a newer server, is kept as sent.
 */
export type FerryErrorCode = ErrorCode | ClientErrorCode | (string & {});

/** Statuses whose request may succeed when sent again: a full queue, a timeout, a server not ready. */
const RETRYABLE_STATUSES = new Set([429, 503, 504]);

/** Every failure of a {@link FerryClient} call: match on `code`, never on the message. */
export class FerryError extends Error {
  /** The code of the server's error answer, or a {@link ClientErrorCode}. */
  readonly code: FerryErrorCode;
  /** The HTTP status of the answer; 0 when none came (UNREACHABLE, STREAM_CLOSED). */
  readonly status: number;

  constructor(code: FerryErrorCode, status: number, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FerryError';
    this.code = code;
    this.status = status;
  }

  /** Whether sending the same request again may succeed (QUEUE_FULL, TIMEOUT, UNAVAILABLE, UNREACHABLE). */
  get retryable(): boolean {
    return RETRYABLE_STATUSES.has(this.status) || this.code === ClientErrorCode.UNREACHABLE;
  }
}

/** The error answer `text` (status `status`) as a FerryError: its code and message when it is Ferry's JSON error body. */
export function answerError(status: number, text: string): FerryError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  const e = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (typeof e?.code === 'string') return new FerryError(e.code, status, typeof e.message === 'string' ? e.message : '');
  return new FerryError(ClientErrorCode.HTTP_ERROR, status, `HTTP ${status}: ${text.slice(0, 200)}`);
}

/** Why a connection failed, in a word where there is one: ECONNREFUSED, ENOTFOUND, ECONNRESET, … */
export function connectionCause(err: unknown): string {
  return (err as { cause?: { code?: string } }).cause?.code ?? (err as { code?: string }).code ?? (err instanceof Error ? err.message : String(err));
}

/** A request that got no answer; `cause` holds the connection's error. */
export function unreachable(url: string, err: unknown): FerryError {
  return new FerryError(ClientErrorCode.UNREACHABLE, 0, `cannot reach ${url} (${connectionCause(err)})`, { cause: err });
}
