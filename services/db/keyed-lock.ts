/**
 * Serialises work per key: two updates of one call never interleave their read and write, while
 * updates of different calls run side by side.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }

  /**
   * Runs `fn` holding every key in `keys` at once. All keys are queued in one step, never one
   * after another while holding some, so two callers of overlapping key sets cannot deadlock.
   */
  runMany<T>(keys: readonly string[], fn: () => Promise<T>): Promise<T> {
    const unique = [...new Set(keys)];
    const prev = Promise.all(unique.map((key) => this.tails.get(key)));
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    for (const key of unique) this.tails.set(key, tail);
    void tail.then(() => {
      for (const key of unique) if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }

  /**
   * Resolves once the work queued so far on `key` (on every key, without one) has finished,
   * without queueing anything itself: a read that waits on it sees every write that came before.
   */
  idle(key?: string): Promise<void> {
    const tails = key === undefined ? [...this.tails.values()] : [this.tails.get(key)];
    return Promise.all(tails).then(() => undefined);
  }
}
