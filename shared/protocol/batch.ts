import { ErrorCode, FerryError } from '../errors.js';

/**
 * Several Ferry messages to one peer travel as one ZeroMQ message when they are sent in the same
 * turn of the event loop:
 *   [batch header][frame counts: uint32 LE each][frames of message 1][frames of message 2]…
 * Each inner message keeps its own layout ([header][body][bulk…]). Under load this turns many
 * sends (each a wake-up of ZeroMQ's I/O thread and of the peer) into one; alone, a message is sent
 * as it is.
 */
export const BATCH_HEADER = 'FERRY01B';
const batchHeaderFrame = Buffer.from(BATCH_HEADER, 'ascii');

/** Packs messages (each a frame list) into the frames of one batch message. */
export function packBatch(messages: readonly (readonly Buffer[])[]): Buffer[] {
  const counts = Buffer.allocUnsafe(messages.length * 4);
  messages.forEach((m, i) => counts.writeUInt32LE(m.length, i * 4));
  const frames: Buffer[] = [batchHeaderFrame, counts];
  for (const m of messages) frames.push(...m);
  return frames;
}

/**
 * The messages inside `frames`: the batch's messages when it is a batch, else `frames` alone.
 * Throws BAD_FRAME when a batch's counts do not add up to its frames.
 */
export function unbatch(frames: Buffer[]): Buffer[][] {
  const [header, counts] = frames;
  if (header === undefined || !header.equals(batchHeaderFrame)) return [frames];
  if (counts === undefined || counts.length % 4 !== 0) {
    throw new FerryError(ErrorCode.BAD_FRAME, 'batch without a whole frame-count frame');
  }
  const messages: Buffer[][] = [];
  let at = 2;
  for (let i = 0; i < counts.length; i += 4) {
    const n = counts.readUInt32LE(i);
    if (n === 0 || at + n > frames.length) throw new FerryError(ErrorCode.BAD_FRAME, 'batch frame counts do not match its frames');
    messages.push(frames.slice(at, at + n));
    at += n;
  }
  if (at !== frames.length) throw new FerryError(ErrorCode.BAD_FRAME, 'batch frame counts do not match its frames');
  return messages;
}
