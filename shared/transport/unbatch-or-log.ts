import { unbatch } from '../protocol/batch.js';
import type { Logger } from '../logger.js';

/** The messages of a received ZeroMQ message; a malformed batch is logged and dropped whole. */
export function unbatchOrLog(frames: Buffer[], log: Logger): Buffer[][] {
  try {
    return unbatch(frames);
  } catch (err) {
    log.warn({ err }, 'malformed batch dropped');
    return [];
  }
}
