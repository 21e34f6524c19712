interface Watched {
  attempt: number;
  limitMs: number;
  lastHeardAt: number;
}

/**
 * Executions whose function sets `stuckAfterMs`, with when each last told anything. Only those
 * are watched, by one timer that runs while there are any: a function without the option costs
 * nothing. An execution silent past its limit is handed to `onStuck` once.
 */
export class StuckWatch {
  private readonly watched = new Map<string, Watched>();
  private timer: NodeJS.Timeout | undefined;
  private everyMs = Infinity;

  constructor(private readonly onStuck: (callId: string, attempt: number, silentMs: number) => void) {}

  watch(callId: string, attempt: number, limitMs: number): void {
    this.watched.set(callId, { attempt, limitMs, lastHeardAt: Date.now() });
    this.schedule(limitMs);
  }

  /** The execution told something (progress, metrics, a log line). */
  heard(callId: string, attempt: number): void {
    const w = this.watched.get(callId);
    if (w && w.attempt === attempt) w.lastHeardAt = Date.now();
  }

  forget(callId: string): void {
    this.watched.delete(callId);
    if (this.watched.size === 0) this.stop();
  }

  close(): void {
    this.stop();
    this.watched.clear();
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.everyMs = Infinity;
  }

  /**
   * A quarter of the shortest limit watched keeps the overshoot small; bounded so a scan stays
   * cheap. Only a new, shorter limit can make it shorter (it never lengthens while any is watched).
   */
  private schedule(limitMs: number): void {
    const everyMs = Math.max(50, Math.min(5_000, Math.floor(limitMs / 4)));
    if (this.timer && everyMs >= this.everyMs) return;
    clearInterval(this.timer);
    this.everyMs = everyMs;
    this.timer = setInterval(() => this.scan(), everyMs);
    this.timer.unref();
  }

  private scan(): void {
    const now = Date.now();
    for (const [callId, w] of [...this.watched]) {
      const silentMs = now - w.lastHeardAt;
      if (silentMs < w.limitMs) continue;
      this.forget(callId);
      this.onStuck(callId, w.attempt, silentMs);
    }
  }
}
