import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import multer from 'multer';
import { ErrorCode, FerryError, httpStatusByCode } from '../../../shared/errors.js';
import type { Logger } from '../../../shared/logger.js';
import type { Refusals } from '../../../shared/refusals.js';
import { requestId } from './request-id.js';

declare global {
  namespace Express {
    interface Locals {
      /** The api's count of refused inputs (set on the app by createApp): every error sent is counted there. */
      refusals?: Refusals;
    }
  }
}

/** Headers an error of a code answers with: when to try again, how to authenticate. */
const headersByCode: Partial<Record<ErrorCode, Record<string, string>>> = {
  QUEUE_FULL: { 'Retry-After': '1' },
  UNAVAILABLE: { 'Retry-After': '1' },
  UNAUTHENTICATED: { 'WWW-Authenticate': 'Bearer realm="ferry", Basic realm="ferry"' },
};

/** Every HTTP error is `{ "error": { "code", "message" } }` with the status of its code. */
export function errorReply(err: FerryError): { status: number; headers: Record<string, string>; body: unknown } {
  return {
    status: httpStatusByCode[err.code],
    headers: headersByCode[err.code] ?? {},
    body: { error: { code: err.code, message: err.message } },
  };
}

export function sendError(res: Response, err: FerryError): void {
  (res.app.locals as Express.Locals).refusals?.count(err.code, { path: res.req.path });
  const reply = errorReply(err);
  res.set(reply.headers).status(reply.status).json(reply.body);
}

export const notFoundRoute: RequestHandler = (req, res) => {
  sendError(res, new FerryError(ErrorCode.NOT_FOUND, `no route ${req.method} ${req.path}`));
};

/** The last handler: maps anything thrown to a typed JSON error; never a stack trace. */
export function errorHandler(log: Logger, maxUploadBytes: number): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    if (res.headersSent) return;
    if (err instanceof FerryError) return sendError(res, err);
    if (err instanceof multer.MulterError) {
      if (err.code === 'LIMIT_FILE_SIZE') {
        return sendError(res, new FerryError(ErrorCode.BUNDLE_TOO_LARGE, `upload exceeds the ${maxUploadBytes}-byte limit`));
      }
      return sendError(res, new FerryError(ErrorCode.BAD_REQUEST, `bad upload: ${err.message}${err.field ? ` (field "${err.field}")` : ''}`));
    }
    const e = err as { status?: number; message?: string };
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      return sendError(res, new FerryError(ErrorCode.BAD_REQUEST, e.message ?? 'bad request'));
    }
    log.error({ err, method: req.method, path: req.path, requestId: requestId(req, res) }, 'request failed');
    sendError(res, new FerryError(ErrorCode.INTERNAL, 'internal error'));
  };
}
