/**
 * Coalesces a call's progress writes: the first change is written at once, later ones at most
 * every `intervalMs`, and the latest change is always written (a trailing write), never dropped.
 */
export class ProgressWrites {
  private readonly calls = new Map<string, { lastAt: number; timer: NodeJS.Timeout | null; writing: boolean; dirty: boolean }>();

  constructor(
    private readonly intervalMs: number,
    private readonly write: (callId: string) => Promise<void>,
  ) {}

  changed(callId: string): void {
    const entry = this.calls.get(callId) ?? { lastAt: 0, timer: null, writing: false, dirty: false };
    this.calls.set(callId, entry);
    entry.dirty = true;
    this.schedule(callId, entry);
  }

  /** The call ended (its final write carries the latest progress): no more writes. */
  forget(callId: string): void {
    const entry = this.calls.get(callId);
    if (entry?.timer) clearTimeout(entry.timer);
    this.calls.delete(callId);
  }

  private schedule(callId: string, entry: { lastAt: number; timer: NodeJS.Timeout | null; writing: boolean; dirty: boolean }): void {
    if (entry.timer || entry.writing || !entry.dirty) return;
    const waitMs = entry.lastAt + this.intervalMs - Date.now();
    const go = (): void => {
      entry.timer = null;
      if (this.calls.get(callId) !== entry) return;
      entry.dirty = false;
      entry.writing = true;
      entry.lastAt = Date.now();
      void this.write(callId).finally(() => {
        entry.writing = false;
        if (this.calls.get(callId) === entry) this.schedule(callId, entry);
      });
    };
    if (waitMs <= 0) go();
    else entry.timer = setTimeout(go, waitMs);
  }
}
