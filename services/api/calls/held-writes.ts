interface Held<End> {
  until: number;
  send: (end?: End) => void;
}

/**
 * Writes of a call held back for a few milliseconds, because what comes next may make them
 * unneeded or go with them: a sync call's create waits for its start or end (one write for the
 * whole call, see `CallLifecycle.create`), a start waits for its end (a call that ends at once
 * needs no RUNNING write). A write waits unarmed while its call waits for a node (a held create:
 * nobody has been told of the call, so nothing is lost if the api stops), and once armed for up
 * to the hold time. It is let go by `take` (what came next carries it, or makes it unneeded),
 * `release` (something needs it stored now) or, once its time is up, by one timer shared by all
 * armed writes; arming order is deadline order, so a sweep stops at the first one still within
 * its time.
 */
export class HeldWrites<End> {
  private readonly unarmed = new Map<string, Held<End>>();
  private readonly armed = new Map<string, Held<End>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly holdMs: number) {}

  /** Holds `send` (the write; a create is given what came first, if anything) until armed and its time is up. */
  hold(callId: string, send: (end?: End) => void): void {
    this.unarmed.set(callId, { until: Infinity, send });
  }

  /** Its time starts now (a create's at the call's dispatch): the write goes within the hold time. */
  arm(callId: string): void {
    const entry = this.unarmed.get(callId);
    if (!entry) return;
    this.unarmed.delete(callId);
    entry.until = Date.now() + this.holdMs;
    this.armed.set(callId, entry);
    this.timer ??= setTimeout(() => this.sweep(), this.holdMs);
  }

  /** Takes the write out, unsent; undefined when it is not held (sent already, or never held). */
  take(callId: string): ((end?: End) => void) | undefined {
    const entry = this.armed.get(callId) ?? this.unarmed.get(callId);
    this.armed.delete(callId);
    this.unarmed.delete(callId);
    return entry?.send;
  }

  has(callId: string): boolean {
    return this.armed.has(callId) || this.unarmed.has(callId);
  }

  /** Sends the held write now, if it still is. */
  release(callId: string): void {
    this.take(callId)?.();
  }

  /** Sends every held write at once (the api is stopping). */
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
