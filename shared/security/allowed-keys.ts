import { watch, type FSWatcher } from 'node:fs';
import type { Logger } from '../logger.js';
import { parseAllowlist, readAllowlistText } from './allowlist-file.js';
import { ensureCurveDir, listPublicKeys } from './key-files.js';

/** Changes to the folder come in bursts (a temp file, a rename): one read after they settle. */
const SETTLE_MS = 25;

/**
 * The client keys the servers of one data folder accept: the keys listed in `allowed-keys` plus
 * the `.pub` keys of the daemons sharing the folder (so a one-host cluster needs no setup). Read
 * again whenever the folder changes, without a restart; listeners hear which keys went away.
 */
export class AllowedKeys {
  /** Allowed key → the name it goes by in logs. */
  private keys = new Map<string, string>();
  private watcher: FSWatcher | undefined;
  private settle: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again: Promise<void> | undefined;
  private readonly listeners = new Set<(removed: string[]) => void>();
  private lastBad = '';
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly log: Logger,
  ) {}

  /** Reads the folder's keys and watches it for changes. */
  static async open(dir: string, log: Logger): Promise<AllowedKeys> {
    await ensureCurveDir(dir);
    const allowed = new AllowedKeys(dir, log);
    await allowed.refresh();
    allowed.watcher = watch(dir, () => {
      clearTimeout(allowed.settle);
      allowed.settle = setTimeout(() => void allowed.refresh(), SETTLE_MS);
    });
    allowed.watcher.on('error', (err) => log.error({ err, dir }, 'cannot watch the allowed keys; changes need a restart'));
    return allowed;
  }

  /** Whether `publicKey` is allowed as of the last read (see {@link admits} to look again on a miss). */
  has(publicKey: string): boolean {
    return this.keys.has(publicKey);
  }

  /**
   * Whether `publicKey` is allowed. A key the last read did not have is looked up once more in
   * the files themselves, so a key allowed a moment ago is never refused for a late change event.
   */
  async admits(publicKey: string): Promise<boolean> {
    if (this.keys.has(publicKey)) return true;
    await this.refresh();
    return this.keys.has(publicKey);
  }

  get size(): number {
    return this.keys.size;
  }

  /** Calls `listener` with the keys no longer allowed after each change that removed some. */
  onRemoved(listener: (removed: string[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.settle);
    this.watcher?.close();
  }

  /** One read at a time; a read asked for during another runs after it, so it sees the files as they are now. */
  private refresh(): Promise<void> {
    if (this.running) {
      this.again ??= this.running.then(() => {
        this.again = undefined;
        return this.refresh();
      });
      return this.again;
    }
    this.running = this.read().finally(() => (this.running = undefined));
    return this.running;
  }

  private async read(): Promise<void> {
    if (this.closed) return;
    let next: Map<string, string>;
    try {
      const [listed, daemons] = await Promise.all([readAllowlistText(this.dir).then(parseAllowlist), listPublicKeys(this.dir)]);
      this.warnBadLines(listed.bad);
      next = new Map(daemons.map((d) => [d.publicKey, d.name]));
      for (const e of listed.entries) next.set(e.publicKey, e.name ?? 'allowed-keys');
    } catch (err) {
      this.log.error({ err, dir: this.dir }, 'could not read the allowed keys; the last ones read still hold');
      return;
    }
    const removed = [...this.keys.keys()].filter((k) => !next.has(k));
    const added = [...next.keys()].filter((k) => !this.keys.has(k));
    this.keys = next;
    if (removed.length === 0 && added.length === 0) return;
    this.log.info({ allowed: next.size, added: added.length, removed: removed.length }, 'allowed keys read');
    if (removed.length > 0) for (const listener of this.listeners) listener(removed);
  }

  private warnBadLines(bad: { line: number; text: string }[]): void {
    const text = JSON.stringify(bad);
    if (text === this.lastBad) return;
    this.lastBad = text;
    if (bad.length > 0) this.log.warn({ file: `${this.dir}/allowed-keys`, lines: bad }, 'allowed-keys lines that are not a key (ignored)');
  }
}
