/**
 * Calls waiting out a retry back-off, each until its time: one timer, for the soonest. A call
 * taken back (cancelled, requeued elsewhere) leaves without waiting.
 */
export class DelayedCalls<T extends { callId: string }> {
  private items: { at: number; item: T }[] = [];
  /** The ids waiting: most calls taken back never waited, and must not cost a walk of the list. */
  private readonly ids = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly onDue: (item: T) => void) {}

  get size(): number {
    return this.items.length;
  }

  add(at: number, item: T): void {
    this.remove(item.callId);
    const i = this.items.findIndex((x) => x.at > at);
    this.items.splice(i < 0 ? this.items.length : i, 0, { at, item });
    this.ids.add(item.callId);
    this.arm();
  }

  remove(callId: string): void {
    if (!this.ids.delete(callId)) return;
    const i = this.items.findIndex((x) => x.item.callId === callId);
    if (i < 0) return;
    this.items.splice(i, 1);
    this.arm();
  }

  close(): void {
    clearTimeout(this.timer);
    this.items = [];
    this.ids.clear();
  }

  private arm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const next = this.items[0];
    if (!next) return;
    // setTimeout takes at most ~24.8 days; a longer wait is simply looked at again then.
    this.timer = setTimeout(() => this.release(), Math.min(Math.max(0, next.at - Date.now()), 2 ** 31 - 1));
    this.timer.unref();
  }

  private release(): void {
    const now = Date.now();
    while (this.items[0] && this.items[0].at <= now) {
      const { item } = this.items.shift()!;
      this.ids.delete(item.callId);
      this.onDue(item);
    }
    this.arm();
  }
}
