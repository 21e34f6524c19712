interface Held<End> {
  until: number;
  send: (end?: End) => void;
}

/**
 * Creates of sync calls held back: a sync call whose end arrives within a few milliseconds of
 * its dispatch is stored once, ended (see `CallLifecycle.create`), instead of a create and then
 * an update. A create waits unarmed while its call waits for a node (nobody has been told of the
 * call, so nothing is lost if the api stops), and from its dispatch (`arm`) for up to the hold
 * time. It is let go by `take` (its end came: sent with it), `release` (another report needs
 * the stored call) or, once its time is up, by one timer shared by all armed creates; arming
 * order is deadline order, so a sweep stops at the first one still within its time.
 */
export class HeldCreates<End> {
  private readonly unarmed = new Map<string, Held<End>>();
  private readonly armed = new Map<string, Held<End>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly holdMs: number) {}

  /** Holds `send` (the create's write, with the call's end when it came first) until armed and its time is up. */
  hold(callId: string, send: (end?: End) => void): void {
    this.unarmed.set(callId, { until: Infinity, send });
  }

  /** The call was dispatched: its create goes within the hold time from now. */
  arm(callId: string): void {
    const entry = this.unarmed.get(callId);
    if (!entry) return;
    this.unarmed.delete(callId);
    entry.until = Date.now() + this.holdMs;
    this.armed.set(callId, entry);
    this.timer ??= setTimeout(() => this.sweep(), this.holdMs);
  }

  /** Takes the create out, unsent, to send it with the call's end; undefined when it is not held (sent already, or never held). */
  take(callId: string): ((end?: End) => void) | undefined {
    const entry = this.armed.get(callId) ?? this.unarmed.get(callId);
    this.armed.delete(callId);
    this.unarmed.delete(callId);
    return entry?.send;
  }

  has(callId: string): boolean {
    return this.armed.has(callId) || this.unarmed.has(callId);
  }

  /** Sends the held create now, if it still is. */
  release(callId: string): void {
    this.take(callId)?.();
  }

  /** Sends every held create at once (the api is stopping). */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const callId of [...this.armed.keys(), ...this.unarmed.keys()]) this.release(callId);
  }

  private sweep(): void {
    this.timer = undefined;
    const now = Date.now();
    for (const [callId, entry] of this.armed) {
      if (entry.until > now) {
        this.timer = setTimeout(() => this.sweep(), entry.until - now);
        return;
      }
      this.release(callId);
    }
  }
}
