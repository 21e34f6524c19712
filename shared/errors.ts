/**
 * Ferry's stable error codes. Callers match on `err.code`, never on message text; the codes are
 * part of the wire protocol and the HTTP API, so a code is never renamed once shipped.
 */
export const ErrorCode = {
  BAD_REQUEST: 'BAD_REQUEST',
  BAD_FRAME: 'BAD_FRAME',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  UNSUPPORTED_PROTOCOL: 'UNSUPPORTED_PROTOCOL',
  UNKNOWN_MSG_TYPE: 'UNKNOWN_MSG_TYPE',
  NOT_FOUND: 'NOT_FOUND',
  NOT_ALLOWED: 'NOT_ALLOWED',
  CONFLICT: 'CONFLICT',
  IN_USE: 'IN_USE',
  IDEMPOTENCY_CONFLICT: 'IDEMPOTENCY_CONFLICT',
  HASH_MISMATCH: 'HASH_MISMATCH',
  BUNDLE_TOO_LARGE: 'BUNDLE_TOO_LARGE',
  BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  TRUNCATED: 'TRUNCATED',
  QUEUE_FULL: 'QUEUE_FULL',
  TIMEOUT: 'TIMEOUT',
  UNAVAILABLE: 'UNAVAILABLE',
  CLOSED: 'CLOSED',
  INTERNAL: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** HTTP status for each code: the one table the API uses to answer errors. */
export const httpStatusByCode: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  BAD_FRAME: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  UNSUPPORTED_PROTOCOL: 400,
  UNKNOWN_MSG_TYPE: 400,
  NOT_FOUND: 404,
  NOT_ALLOWED: 403,
  CONFLICT: 409,
  IN_USE: 409,
  IDEMPOTENCY_CONFLICT: 409,
  HASH_MISMATCH: 400,
  BUNDLE_TOO_LARGE: 413,
  BODY_TOO_LARGE: 413,
  TRUNCATED: 400,
  QUEUE_FULL: 429,
  TIMEOUT: 504,
  UNAVAILABLE: 503,
  CLOSED: 503,
  INTERNAL: 500,
};

/** Codes whose failure may succeed when the same request is sent again. */
const retryableByDefault: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.QUEUE_FULL,
  ErrorCode.TIMEOUT,
  ErrorCode.UNAVAILABLE,
]);

/** An error as it travels in a reply envelope. */
export interface WireError {
  code: ErrorCode;
  message: string;
  retryable: boolean;
}

/** Base of every error Ferry raises on purpose. `retryable` says whether a retry may help. */
export class FerryError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FerryError';
    this.code = code;
    this.retryable = options.retryable ?? retryableByDefault.has(code);
  }

  toWire(): WireError {
    return { code: this.code, message: this.message, retryable: this.retryable };
  }
}

export class NotFoundError extends FerryError {
  constructor(what: string) {
    super(ErrorCode.NOT_FOUND, `${what} not found`);
  }
}

export class BadRequestError extends FerryError {
  constructor(message: string) {
    super(ErrorCode.BAD_REQUEST, message);
  }
}

export class ConflictError extends FerryError {
  constructor(message: string) {
    super(ErrorCode.CONFLICT, message);
  }
}

export class TimeoutError extends FerryError {
  constructor(message: string) {
    super(ErrorCode.TIMEOUT, message);
  }
}

const knownCodes = new Set<string>(Object.values(ErrorCode));

/** Rebuilds a typed error from a reply envelope; an unknown code from a newer peer becomes INTERNAL. */
export function fromWire(wire: Partial<WireError> | undefined): FerryError {
  const code = typeof wire?.code === 'string' && knownCodes.has(wire.code) ? wire.code : ErrorCode.INTERNAL;
  const message = typeof wire?.message === 'string' ? wire.message : 'error without a message';
  return new FerryError(code, message, { retryable: wire?.retryable === true });
}

/** Wraps anything thrown into a FerryError; unexpected errors never leak their stack to a peer. */
export function toFerryError(err: unknown): FerryError {
  if (err instanceof FerryError) return err;
  return new FerryError(ErrorCode.INTERNAL, 'internal error', { cause: err });
}
