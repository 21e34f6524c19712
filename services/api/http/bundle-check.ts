import { createReadStream } from 'node:fs';
import path from 'node:path';
import * as tar from 'tar';
import { BadRequestError } from '../../../shared/errors.js';

export interface BundleLimits {
  maxEntries: number;
  maxUnpackedBytes: number;
}

export interface BundleContents {
  entries: number;
  unpackedBytes: number;
}

/**
 * Checks a tar.gz as its bytes go by, before it is accepted: only plain files and folders,
 * relative paths that stay inside the bundle, at most `maxEntries` entries and
 * `maxUnpackedBytes` unpacked. It is fed while the upload streams on to the registry, so the
 * check costs no pass of its own over the bundle, and it stops reading at the first problem.
 * tar's parser inflates the input itself, on the event loop: for a check that keeps nothing,
 * that is cheaper than a trip to the thread pool per piece.
 */
export class BundleCheck {
  private entries = 0;
  private unpackedBytes = 0;
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

  /**
   * Looks at the next bytes, there and then: the parser inflates and walks them before returning,
   * and every entry's body is let flow away, so nothing piles up and its "wait" answer (a full
   * queue of entries within these very bytes) needs no waiting on.
   */
  write(chunk: Buffer): void {
    if (this.refused || this.ended) return;
    this.parser.write(chunk);
  }

  /** Ends the input and gives the verdict. Throws BAD_REQUEST naming the first problem. */
  async result(): Promise<BundleContents> {
    if (!this.refused && !this.ended) {
      this.ended = true;
      this.parser.end();
      await this.parsed;
    }
    if (this.problem) throw new BadRequestError(`bundle refused: ${this.problem}`);
    if (this.unreadable) throw new BadRequestError(`the bundle is not a readable tar.gz: ${this.unreadable.message}`);
    if (this.entries === 0) throw new BadRequestError('bundle refused: it is empty');
    return { entries: this.entries, unpackedBytes: this.unpackedBytes };
  }

  /** Stops looking (the upload was dropped, or the verdict is known). */
  abandon(): void {
    this.ended = true;
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

/** Checks a tar.gz file on disk (see {@link BundleCheck}). Throws BAD_REQUEST naming the first problem. */
export async function checkBundle(file: string, limits: BundleLimits): Promise<BundleContents> {
  const check = new BundleCheck(limits);
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
      if (check.refused) break;
      check.write(chunk as Buffer);
    }
  } catch (err) {
    check.abandon();
    throw new BadRequestError(`the bundle is not a readable tar.gz: ${err instanceof Error ? err.message : String(err)}`);
  }
  return check.result();
}
