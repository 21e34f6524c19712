import { nanoid } from 'nanoid';
import { ErrorCode, FerryError, toFerryError } from '../errors.js';
import type { Logger } from '../logger.js';
import { BUNDLE_CHUNK_BYTES, type RegistryReplyContent, type RegistryRequestContent } from '../protocol/registry-messages.js';
import type { RpcClient } from '../transport/rpc-client.js';

/** Bytes sent but not yet acknowledged: enough to keep the registry busy, small enough to bound memory. */
const WINDOW_BYTES = 8 * BUNDLE_CHUNK_BYTES;

export interface UploadTimeouts {
  /** Per-request timeout of one part, in milliseconds. */
  partMs: number;
  /** Timeout of the commit (hash check and fsync of the whole bundle) for `bytes`, in milliseconds. */
  commitMs: (bytes: number) => number;
}

/**
 * A bundle streamed to the registry as it is produced (putPart … putCommit). At most
 * {@link WINDOW_BYTES} are unacknowledged at a time: {@link write} waits for room, so a fast
 * producer is held back instead of buffering. Nothing is stored until {@link commit}, and then
 * only if the registry received exactly the bytes written here, in order; it hashes them as it
 * writes them, and that sha256 is the bundle's address (hashing them here too would cost the
 * uploader's event loop as much again, for bytes that ZeroMQ over TCP, and CurveZMQ's
 * authenticated encryption, already carry intact).
 */
export class BundleUpload {
  readonly uploadId = nanoid();
  private bytes = 0;
  private sent = 0;
  private partFrames: Buffer[] = [];
  private partBytes = 0;
  /** Release callbacks of the chunks in {@link partFrames}. */
  private partReleases: (() => void)[] = [];
  private unacked = 0;
  private readonly acks = new Set<Promise<void>>();
  private roomWaiter: (() => void) | null = null;
  private failure: FerryError | null = null;
  private state: 'open' | 'committing' | 'committed' | 'aborted' = 'open';

  constructor(
    private readonly rpc: RpcClient<RegistryRequestContent, RegistryReplyContent>,
    private readonly timeouts: UploadTimeouts,
    private readonly log: Logger,
  ) {}

  /** Bytes written so far. */
  get size(): number {
    return this.bytes;
  }

  /** The first error of this upload (a refused part, a lost registry), or null. */
  get error(): FerryError | null {
    return this.failure;
  }

  /**
   * Adds the next bytes. Resolves once there is room for more; rejects with the upload's first
   * failure (BUNDLE_TOO_LARGE when the registry's cap is passed, TIMEOUT, UNAVAILABLE…). The
   * caller must not change `chunk` until `released` is called: once the registry has taken it
   * (never when its part fails, since a resend may still be on its way).
   */
  async write(chunk: Buffer, released?: () => void): Promise<void> {
    if (this.state !== 'open') throw new FerryError(ErrorCode.CLOSED, `upload is ${this.state}`);
    if (this.failure) throw this.failure;
    if (chunk.length === 0) return;
    this.bytes += chunk.length;
    this.partFrames.push(chunk);
    if (released) this.partReleases.push(released);
    this.partBytes += chunk.length;
    if (this.partBytes >= BUNDLE_CHUNK_BYTES) this.sendPart();
    while (this.unacked >= WINDOW_BYTES && !this.failure) {
      await new Promise<void>((resolve) => (this.roomWaiter = resolve));
    }
    if (this.failure) throw this.failure;
  }

  /**
   * Sends what is left, waits for every part to be acknowledged, and asks the registry to store
   * the bundle. Resolves with the sha256 the registry hashed it to. Throws the upload's failure,
   * or the registry's TRUNCATED.
   */
  async commit(): Promise<{ sha256: string; size: number; stored: boolean }> {
    if (this.state !== 'open') throw new FerryError(ErrorCode.CLOSED, `upload is ${this.state}`);
    this.state = 'committing';
    // A bundle of no bytes still needs one (empty) part to open the upload.
    if (this.partBytes > 0 || this.sent === 0) this.sendPart();
    await Promise.all([...this.acks]);
    if (this.failure) throw this.failure;
    const reply = await this.rpc.call(
      'putCommit',
      { uploadId: this.uploadId, size: this.bytes },
      { timeoutMs: this.timeouts.commitMs(this.bytes) },
    );
    this.state = 'committed';
    return reply;
  }

  /** Drops the upload on the registry (best effort: an upload left behind expires there). Idempotent; a no-op once committed. */
  async abort(): Promise<void> {
    if (this.state === 'committed' || this.state === 'aborted') return;
    const opened = this.sent > 0;
    this.state = 'aborted';
    this.failure ??= new FerryError(ErrorCode.CLOSED, 'upload aborted');
    this.roomWaiter?.();
    this.partFrames = [];
    if (!opened) return;
    await Promise.allSettled([...this.acks]);
    try {
      await this.rpc.call('putAbort', { uploadId: this.uploadId }, { timeoutMs: this.timeouts.partMs });
    } catch (err) {
      this.log.warn({ err, uploadId: this.uploadId }, 'upload abort not confirmed');
    }
  }

  private sendPart(): void {
    // One frame per part: each frame costs ZeroMQ and both event loops a buffer with a finalizer,
    // so 16 small ones (an HTTP upload arrives in 64 KiB pieces) cost more than copying them once.
    const joined = this.partFrames.length > 1;
    const frames = joined ? [Buffer.concat(this.partFrames, this.partBytes)] : this.partFrames;
    // Once copied into one frame, the caller's chunks are free again.
    const releases = joined ? [] : this.partReleases;
    if (joined) for (const release of this.partReleases) release();
    const bytes = this.partBytes;
    const offset = this.sent;
    this.partFrames = [];
    this.partBytes = 0;
    this.partReleases = [];
    this.sent += bytes;
    this.unacked += bytes;
    const ack = this.rpc
      .call('putPart', { uploadId: this.uploadId, offset }, { bulk: frames, timeoutMs: this.timeouts.partMs })
      .then(
        () => {
          for (const release of releases) release();
        },
        (err: unknown) => {
          this.failure ??= toFerryError(err);
        },
      )
      .finally(() => {
        this.unacked -= bytes;
        this.acks.delete(ack);
        const waiter = this.roomWaiter;
        this.roomWaiter = null;
        waiter?.();
      });
    this.acks.add(ack);
  }
}
