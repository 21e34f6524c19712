import type { MessagePort } from 'node:worker_threads';
import { BadRequestError, ErrorCode, FerryError } from '../../../shared/errors.js';
import type { ApiToCheck, BundleContents, CheckToApi, CheckVerdict } from './check-messages.js';

/**
 * Bytes handed to the check thread and not yet looked at. An upload is held back past it, so a
 * check that is slower than the network costs a few MiB of memory, not the bundle's size.
 */
const WINDOW_BYTES = 2 * 1024 * 1024;

/**
 * The api's side of one bundle check (see `tar-walk.ts` for what is checked). The bytes go to a
 * check thread, which inflates and walks them there, so a bundle of any size, or a gzip bomb,
 * costs this event loop only a copy per piece. The verdict comes as soon as it is known: a
 * refusal while the upload is still arriving, a pass once the input has ended.
 */
export class BundleCheck {
  private unacked = 0;
  private verdict: CheckVerdict | null = null;
  private failure: FerryError | null = null;
  private ending = false;
  private closed = false;
  private roomWaiter: (() => void) | null = null;
  /** Release callbacks of the pieces handed over, oldest first: the thread answers each piece in order. */
  private readonly lent: (() => void)[] = [];
  private settle!: () => void;
  private readonly settled = new Promise<void>((resolve) => (this.settle = resolve));
  private onRefused!: (err: FerryError) => void;
  /** Resolves with the refusal (BAD_REQUEST, or UNAVAILABLE when the check thread was lost) as soon as it is known; never when the bundle passes. */
  readonly refusal = new Promise<FerryError>((resolve) => (this.onRefused = resolve));

  constructor(
    private readonly port: MessagePort,
    private readonly onClosed: () => void,
  ) {
    port.on('message', (msg: CheckToApi) => this.onMessage(msg));
  }

  /** True once the outcome is known to be a refusal; later bytes are not looked at. */
  get refused(): boolean {
    return this.failure !== null || (this.verdict !== null && !this.verdict.ok);
  }

  /**
   * Hands the next bytes to the check thread. Bytes in a SharedArrayBuffer are read there in place
   * (the caller must not change them until `released` is called, once the thread has looked at
   * them; never when the check ends first); others are copied on the way. Resolves once the thread
   * is less than {@link WINDOW_BYTES} behind, or the verdict is in.
   */
  async write(bytes: Buffer, released: () => void = () => undefined): Promise<void> {
    if (this.closed || this.ending || this.verdict || this.failure || bytes.length === 0) return;
    this.unacked += bytes.length;
    this.lent.push(released);
    this.send({ type: 'bytes', bytes });
    while (this.unacked > WINDOW_BYTES && !this.closed && !this.verdict && !this.failure) {
      await new Promise<void>((resolve) => (this.roomWaiter = resolve));
    }
  }

  /**
   * Ends the input and gives the verdict. Throws BAD_REQUEST naming the first problem, UNAVAILABLE
   * when the check thread was lost, CLOSED once abandoned.
   */
  async result(): Promise<BundleContents> {
    if (!this.closed && !this.ending && !this.verdict && !this.failure) {
      this.ending = true;
      this.send({ type: 'end' });
    }
    await this.settled;
    this.close();
    if (this.failure) throw this.failure;
    const verdict = this.verdict!;
    if (!verdict.ok) throw new BadRequestError(verdict.message);
    return { entries: verdict.entries, unpackedBytes: verdict.unpackedBytes };
  }

  /** Stops the check (the upload was dropped, or the verdict is known). Idempotent. */
  abandon(): void {
    if (!this.verdict) this.fail(new FerryError(ErrorCode.CLOSED, 'bundle check abandoned'));
    this.close();
  }

  /** Ends the check with `err` (its thread is gone); a verdict already in stands. */
  fail(err: FerryError): void {
    if (this.verdict || this.failure) return;
    this.failure = err;
    if (err.code !== ErrorCode.CLOSED) this.onRefused(err);
    this.wake();
  }

  private onMessage(msg: CheckToApi): void {
    switch (msg.type) {
      case 'taken':
        this.unacked -= msg.bytes;
        this.lent.shift()?.();
        if (this.unacked <= WINDOW_BYTES) this.wake();
        return;
      case 'verdict':
        if (this.verdict || this.failure) return;
        this.verdict = msg.verdict;
        if (!msg.verdict.ok) this.onRefused(new BadRequestError(msg.verdict.message));
        this.wake();
        // Nothing more comes from the thread: let the port go.
        this.close();
        return;
      default: {
        const unknown: never = msg;
        throw new Error(`unknown bundle check message ${JSON.stringify(unknown)}`);
      }
    }
  }

  private send(msg: ApiToCheck): void {
    this.port.postMessage(msg);
  }

  private wake(): void {
    const waiter = this.roomWaiter;
    this.roomWaiter = null;
    waiter?.();
    if (this.verdict || this.failure) this.settle();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.port.close();
    this.onClosed();
  }
}
