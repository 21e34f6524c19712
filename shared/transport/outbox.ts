/**
 * A zeromq.js socket allows one send in progress at a time. The outbox queues sends in order so
 * many requests or replies can be in flight over one socket.
 */
export class Outbox {
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly sendFrames: (frames: Buffer[]) => Promise<void>) {}

  /**
   * Queues `frames`; `stillWanted` is asked just before sending, so a request that timed out
   * while the queue was blocked is not sent late.
   */
  send(frames: Buffer[], stillWanted: () => boolean = () => true): Promise<void> {
    const sent = this.tail.then(() => (stillWanted() ? this.sendFrames(frames) : undefined));
    this.tail = sent.catch(() => undefined);
    return sent;
  }
}
