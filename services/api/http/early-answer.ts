import type { Response } from 'express';
import { FerryError } from '../../../shared/errors.js';
import { sendError } from './errors.js';

/**
 * Answers a push's error at once, while the rest of its body may still be on the way. multer,
 * told of the same error, reads that rest off the wire before passing the error on, and the
 * error handler then finds the answer sent and adds nothing. Errors that are not a FerryError
 * are left to that path (they are logged there).
 */
export function answerNow(res: Response | undefined, err: unknown): void {
  if (res && !res.headersSent && err instanceof FerryError) sendError(res, err);
}
