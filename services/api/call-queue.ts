/**
 * The scheduler's FIFO of calls waiting for a node, with the ids it holds: every call that ends
 * asks whether it is still queued, and that must not cost a walk of a queue of thousands.
 */
export class CallQueue<T extends { callId: string }> {
  private readonly items: T[] = [];
  private readonly ids = new Set<string>();

  get length(): number {
    return this.items.length;
  }

  /** The call that leaves next. */
  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    this.items.push(item);
    this.ids.add(item.callId);
  }

  /** In first (a call going round again keeps its place ahead of newer ones). */
  unshift(item: T): void {
    this.items.unshift(item);
    this.ids.add(item.callId);
  }

  shift(): T | undefined {
    const item = this.items.shift();
    if (item) this.ids.delete(item.callId);
    return item;
  }

  /** Takes `callId` out when it is queued; answers whether it was. */
  remove(callId: string): boolean {
    if (!this.ids.delete(callId)) return false;
    const at = this.items.findIndex((q) => q.callId === callId);
    if (at >= 0) this.items.splice(at, 1);
    return true;
  }
}
