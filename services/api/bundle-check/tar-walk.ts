import path from 'node:path';
import * as tar from 'tar';
import type { BundleLimits, CheckVerdict } from './check-messages.js';

/**
 * Compressed bytes handed to tar's inflater at a time. Its inflater is synchronous and hands over
 * all it produced from one write, so a write can never inflate more than about 1032 × this
 * (deflate's largest ratio): 16 KiB keeps a bomb to ~16 MiB of work and memory between two looks
 * at the verdict, and is still large enough that the per-write cost does not show.
 */
const SLICE_BYTES = 16 * 1024;

/** The first two bytes of every gzip stream. */
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);

/**
 * The walk of one bundle, run in a check thread: gzip only (tar's parser would also take a bare
 * tar, or another compression, which a bundle is not said to be), gunzip and tar parsing by tar's
 * own parser (so its "max decompression ratio" guard and every error text stay as they were),
 * only plain files and folders, relative paths that stay inside the bundle, at most `maxEntries`
 * entries and `maxUnpackedBytes` unpacked. It stops looking at the first problem.
 */
export class TarWalk {
  private entries = 0;
  private unpackedBytes = 0;
  /** The bundle's first bytes, until there are enough to tell gzip. */
  private head = Buffer.alloc(0);
  private problem: string | null = null;
  private unreadable: Error | null = null;
  private ended = false;
  private readonly parser: tar.Parser;
  private readonly parsed: Promise<void>;

  constructor(private readonly limits: BundleLimits) {
    this.parser = new tar.Parser({ strict: true, onReadEntry: (entry) => this.onEntry(entry) });
    this.parsed = new Promise<void>((resolve) => {
      this.parser.on('end', resolve);
      this.parser.on('error', (err: Error) => {
        this.unreadable ??= err;
        resolve();
      });
    });
  }

  /** True once the outcome is known to be a refusal; later bytes are not looked at. */
  get refused(): boolean {
    return this.problem !== null || this.unreadable !== null;
  }

  /** Inflates and walks the next bytes, a slice at a time, stopping at the first problem. */
  feed(bytes: Buffer): void {
    if (this.head.length < GZIP_MAGIC.length) {
      this.head = Buffer.concat([this.head, bytes.subarray(0, GZIP_MAGIC.length - this.head.length)]);
      if (!GZIP_MAGIC.subarray(0, this.head.length).equals(this.head)) this.refuse('it is not gzip (a bundle is a .tar.gz)');
    }
    for (let at = 0; at < bytes.length && !this.refused && !this.ended; at += SLICE_BYTES) {
      this.parser.write(bytes.subarray(at, at + SLICE_BYTES));
    }
  }

  /** The verdict once refused (see {@link refused}); null while the bundle still looks fine. */
  refusal(): CheckVerdict | null {
    if (this.problem) return { ok: false, message: `bundle refused: ${this.problem}` };
    if (this.unreadable) return { ok: false, message: `the bundle is not a readable tar.gz: ${this.unreadable.message}` };
    return null;
  }

  /** Ends the input and gives the verdict. */
  async finish(): Promise<CheckVerdict> {
    if (this.head.length === 0) this.refuse('the file is empty');
    else if (this.head.length < GZIP_MAGIC.length) this.refuse('it is not gzip (a bundle is a .tar.gz)');
    if (!this.refused && !this.ended) {
      this.ended = true;
      this.parser.end();
      await this.parsed;
    }
    const refusal = this.refusal();
    if (refusal) return refusal;
    if (this.entries === 0) return { ok: false, message: 'bundle refused: it is empty' };
    return { ok: true, entries: this.entries, unpackedBytes: this.unpackedBytes };
  }

  private onEntry(entry: tar.ReadEntry): void {
    entry.resume();
    if (this.problem) return;
    this.entries += 1;
    const p = entry.path;
    if (path.isAbsolute(p) || /^[a-zA-Z]:/.test(p)) return this.refuse(`absolute path "${p}"`);
    if (p.split(/[\\/]/).includes('..')) return this.refuse(`path "${p}" climbs out with ".."`);
    if (entry.type === 'SymbolicLink' || entry.type === 'Link') return this.refuse(`link "${p}" (links are not allowed)`);
    if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'Directory' && entry.type !== 'ContiguousFile') {
      return this.refuse(`"${p}" is a ${entry.type} (only files and folders are allowed)`);
    }
    this.unpackedBytes += entry.size ?? 0;
    if (this.entries > this.limits.maxEntries) return this.refuse(`more than ${this.limits.maxEntries} entries`);
    if (this.unpackedBytes > this.limits.maxUnpackedBytes) return this.refuse(`more than ${this.limits.maxUnpackedBytes} bytes unpacked`);
  }

  private refuse(why: string): void {
    this.problem ??= why;
  }
}
