import { createHash } from 'node:crypto';
import { ErrorCode, FerryError } from '../errors.js';
import { BUNDLE_CHUNK_BYTES, type RegistryReplyContent, type RegistryRequestContent } from '../protocol/registry-messages.js';
import type { ReplyWithBulk, RpcClient } from '../transport/rpc-client.js';

/** Bytes of one getPart: a few frames' worth, so a part is cheap to ask for and to hold. */
const PART_BYTES = 2 * BUNDLE_CHUNK_BYTES;
/** getPart requests in flight: enough to hide the round trip, few enough to bound memory. */
const PARTS_IN_FLIGHT = 4;

type Part = ReplyWithBulk<RegistryReplyContent['getPart']>;

/**
 * Fetches bundle `sha256` part by part, handing each part's bytes to `sink` in order and waiting
 * for it (so a slow sink holds the download back), while hashing them. Resolves with the bundle's
 * size once its sha256 checks out; throws NOT_FOUND, or HASH_MISMATCH when the bytes are wrong
 * (the sink has seen them by then: it must treat what it got as unverified until this resolves).
 */
export async function downloadBundle(
  rpc: RpcClient<RegistryRequestContent, RegistryReplyContent>,
  sha256: string,
  sink: (bytes: Buffer) => Promise<void> | void,
  partMs: number,
): Promise<{ sha256: string; size: number }> {
  const ask = (offset: number): Promise<Part> => {
    const reply = rpc.callWithBulk('getPart', { sha256, offset, length: PART_BYTES }, { timeoutMs: partMs });
    reply.catch(() => undefined); // awaited in order below; a failure ends the download there
    return reply;
  };
  const first = await ask(0);
  const size = first.content.size;
  const hash = createHash('sha256');
  const queue: { offset: number; reply: Promise<Part> }[] = [];
  let next = PART_BYTES;
  let received = 0;
  let part: Part | undefined = first;
  let offset = 0;
  while (part) {
    // Ask ahead before handing this part on, so the registry works while the sink does.
    while (queue.length < PARTS_IN_FLIGHT && next < size) {
      queue.push({ offset: next, reply: ask(next) });
      next += PART_BYTES;
    }
    const want = Math.min(PART_BYTES, size - offset);
    const got = part.bulk.reduce((n, f) => n + f.length, 0);
    if (part.content.size !== size || part.content.offset !== offset || got !== want) {
      throw new FerryError(ErrorCode.HASH_MISMATCH, `bundle ${sha256}: part at ${offset} came with ${got} bytes of ${part.content.size}, expected ${want} of ${size}`);
    }
    for (const bytes of part.bulk) {
      hash.update(bytes);
      received += bytes.length;
      await sink(bytes);
    }
    const ahead = queue.shift();
    part = ahead ? await ahead.reply : undefined;
    offset = ahead?.offset ?? offset;
  }
  const got = hash.digest('hex');
  if (got !== sha256 || received !== size) {
    throw new FerryError(ErrorCode.HASH_MISMATCH, `bundle ${sha256} arrived with sha256 ${got} (${received} bytes)`);
  }
  return { sha256, size };
}
