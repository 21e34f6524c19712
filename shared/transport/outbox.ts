import { packBatch } from '../protocol/batch.js';

/** Most messages, and most bytes, that go into one batch. */
const BATCH_MAX_MESSAGES = 256;
const BATCH_MAX_BYTES = 4 * 1024 * 1024;

interface Queued {
  frames: Buffer[];
  stillWanted: () => boolean;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export interface OutboxOptions {
  /** ROUTER sockets: the first frame of every message is the peer's routing id. */
  routed?: boolean;
}

/**
 * Ordered sends over one zeromq.js socket (it allows one send in progress at a time). Messages
 * queued in the same turn of the event loop go out together: one batch per peer (see
 * `shared/protocol/batch.ts`), in the order they were queued. A lone message goes as it is.
 */
export class Outbox {
  private queue: Queued[] = [];
  private scheduled = false;
  private sending = false;

  constructor(
    private readonly sendFrames: (frames: Buffer[]) => Promise<void>,
    private readonly options: OutboxOptions = {},
  ) {}

  /**
   * Queues `frames`; resolves once they are handed to ZeroMQ. `stillWanted` is asked just before
   * sending, so a request that timed out while the queue was blocked is not sent late.
   */
  send(frames: Buffer[], stillWanted: () => boolean = () => true): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ frames, stillWanted, resolve, reject });
      if (!this.scheduled && !this.sending) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    this.sending = true;
    try {
      while (this.queue.length > 0) {
        const taken = this.queue;
        this.queue = [];
        for (const group of this.byPeer(taken)) {
          for (const chunk of chunks(group)) await this.sendChunk(chunk);
        }
      }
    } finally {
      this.sending = false;
    }
  }

  private byPeer(items: Queued[]): Queued[][] {
    const wanted = items.filter((q) => {
      if (q.stillWanted()) return true;
      q.resolve();
      return false;
    });
    if (!this.options.routed) return wanted.length > 0 ? [wanted] : [];
    const groups = new Map<string, Queued[]>();
    for (const q of wanted) {
      const peer = q.frames[0]?.toString('latin1') ?? '';
      const group = groups.get(peer);
      if (group) group.push(q);
      else groups.set(peer, [q]);
    }
    return [...groups.values()];
  }

  private async sendChunk(chunk: Queued[]): Promise<void> {
    let frames: Buffer[];
    if (chunk.length === 1) {
      frames = chunk[0]!.frames;
    } else if (this.options.routed) {
      frames = [chunk[0]!.frames[0]!, ...packBatch(chunk.map((q) => q.frames.slice(1)))];
    } else {
      frames = packBatch(chunk.map((q) => q.frames));
    }
    try {
      await this.sendFrames(frames);
      for (const q of chunk) q.resolve();
    } catch (err) {
      for (const q of chunk) q.reject(err);
    }
  }
}

/** Splits a peer's messages into batches within the message and byte bounds, keeping order. */
function chunks(group: Queued[]): Queued[][] {
  const out: Queued[][] = [];
  let current: Queued[] = [];
  let bytes = 0;
  for (const q of group) {
    const size = q.frames.reduce((n, f) => n + f.length, 0);
    if (current.length > 0 && (current.length >= BATCH_MAX_MESSAGES || bytes + size > BATCH_MAX_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(q);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}
