import zlib from 'node:zlib';

/** Where the tar bytes go: a tar Parser or Unpack (minipass-style: write → false, then 'drain'). */
export interface TarSink {
  write(chunk: Buffer): boolean;
  end(): unknown;
  once(event: 'drain', listener: () => void): unknown;
}

const GZIP_MAGIC = [0x1f, 0x8b];
/**
 * Inflater input and output per call: 1 MiB each way. Each call is a hop to the thread pool and
 * back, so small pieces cost several times the inflating itself; and big output means the
 * unpacker sees few chunks, so it writes each file in few, large writes.
 */
const INFLATE_CHUNK_BYTES = 1024 * 1024;
/** The ratio past which tar's own parser gives up on a compressed archive (a decompression bomb). */
const MAX_INFLATE_RATIO = 1000;
/**
 * Compressed bytes queued ahead of the inflater before writers wait: a few pieces, so the next
 * piece is already queued when the thread pool finishes one (waiting on each piece in turn would
 * hold the download to one thread-pool round trip per MiB).
 */
const INFLATE_QUEUE_BYTES = 4 * INFLATE_CHUNK_BYTES;

/**
 * Feeds a bundle's bytes to a tar unpacker as they arrive. A gzip stream is inflated here, on the
 * thread pool and in 1 MiB pieces, instead of by tar itself (on the event loop, in 16 KiB pieces,
 * so a file is written 16 KiB at a time): that frees the event loop for the download and its hash,
 * and cuts the unpacker's file writes some 60-fold. tar's guard against decompression bombs is
 * kept here. Other input (plain, zstd) goes to tar as it is, which sniffs it as before. Failures
 * of the inflater go to `onError`; the sink reports its own.
 */
export class TarFeed {
  private head: Buffer | null = null;
  private gunzip: zlib.Gunzip | null = null;
  /** Compressed input gathered up to {@link INFLATE_CHUNK_BYTES} before it goes to the inflater. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private sniffed = false;
  private compressedBytes = 0;
  private inflatedBytes = 0;
  private failed = false;
  /** Writers waiting for the sink to drain: released by {@link destroy} too, so none hangs on a failed sink. */
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly sink: TarSink,
    private readonly onError: (err: Error) => void,
  ) {}

  /** Adds bytes; resolves when more may be written (backpressure from the inflater or the parser). */
  async write(chunk: Buffer): Promise<void> {
    if (this.failed || chunk.length === 0) return;
    if (!this.sniffed) {
      const head: Buffer = this.head ? Buffer.concat([this.head, chunk]) : chunk;
      if (head.length < GZIP_MAGIC.length) {
        this.head = head;
        return;
      }
      this.head = null;
      this.start(head);
      chunk = head;
    }
    if (this.gunzip) {
      this.compressedBytes += chunk.length;
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.pendingBytes >= INFLATE_CHUNK_BYTES && !this.inflate()) await waitDrain(this.gunzip);
    } else if (!this.sink.write(chunk)) {
      await new Promise<void>((resolve) => {
        this.waiters.add(resolve);
        this.sink.once('drain', () => {
          this.waiters.delete(resolve);
          resolve();
        });
      });
    }
  }

  /** Ends the input; the sink is ended once everything before has passed through. */
  end(): void {
    if (this.failed) return;
    if (!this.sniffed) {
      if (this.head) this.sink.write(this.head);
      this.sink.end();
      return;
    }
    if (this.gunzip) {
      this.inflate();
      this.gunzip.end();
    } else {
      this.sink.end();
    }
  }

  /** Stops feeding (the input is no longer wanted, or the sink failed); pending writes resolve. */
  destroy(): void {
    this.failed = true;
    this.pending = [];
    this.pendingBytes = 0;
    this.gunzip?.destroy();
    for (const release of this.waiters) release();
    this.waiters.clear();
  }

  /** Hands the gathered input to the inflater; false when it asks to wait for 'drain'. */
  private inflate(): boolean {
    if (!this.gunzip || this.pendingBytes === 0) return true;
    const input = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    return this.gunzip.write(input);
  }

  private start(head: Buffer): void {
    this.sniffed = true;
    if (head[0] !== GZIP_MAGIC[0] || head[1] !== GZIP_MAGIC[1]) return;
    // zlib streams pass stream options on to their Transform; @types/node's ZlibOptions omit them.
    const options: zlib.ZlibOptions & { writableHighWaterMark: number } = { chunkSize: INFLATE_CHUNK_BYTES, writableHighWaterMark: INFLATE_QUEUE_BYTES };
    const gunzip = zlib.createGunzip(options);
    this.gunzip = gunzip;
    gunzip.on('data', (out: Buffer) => {
      this.inflatedBytes += out.length;
      if (this.inflatedBytes > this.compressedBytes * MAX_INFLATE_RATIO) {
        this.fail(new Error(`max decompression ratio exceeded: more than ${MAX_INFLATE_RATIO} bytes out per byte in`));
        return;
      }
      if (!this.sink.write(out)) {
        gunzip.pause();
        this.sink.once('drain', () => gunzip.resume());
      }
    });
    gunzip.on('end', () => {
      if (!this.failed) this.sink.end();
    });
    gunzip.on('error', (err) => this.fail(err));
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.destroy();
    this.onError(err);
  }
}

/** Resolves on 'drain', or when the stream errors or closes (its error is reported elsewhere). */
function waitDrain(stream: zlib.Gunzip): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('error', done);
  });
}
