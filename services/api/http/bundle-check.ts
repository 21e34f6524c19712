import path from 'node:path';
import * as tar from 'tar';
import { BadRequestError } from '../../../shared/errors.js';

export interface BundleLimits {
  maxEntries: number;
  maxUnpackedBytes: number;
}

/**
 * Checks an uploaded tar.gz before it is accepted: only plain files and folders, relative paths
 * that stay inside the bundle, at most `maxEntries` entries and `maxUnpackedBytes` unpacked.
 * Throws BAD_REQUEST naming the first problem.
 */
export async function checkBundle(file: string, limits: BundleLimits): Promise<{ entries: number; unpackedBytes: number }> {
  let entries = 0;
  let unpackedBytes = 0;
  let problem: string | null = null;
  const refuse = (why: string): void => {
    problem ??= why;
  };
  try {
    await tar.t({
      file,
      strict: true,
      onReadEntry: (entry) => {
        entries += 1;
        const p = entry.path;
        if (path.isAbsolute(p) || /^[a-zA-Z]:/.test(p)) refuse(`absolute path "${p}"`);
        if (p.split(/[\\/]/).includes('..')) refuse(`path "${p}" climbs out with ".."`);
        if (entry.type === 'SymbolicLink' || entry.type === 'Link') refuse(`link "${p}" (links are not allowed)`);
        else if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'Directory' && entry.type !== 'ContiguousFile') {
          refuse(`"${p}" is a ${entry.type} (only files and folders are allowed)`);
        }
        unpackedBytes += entry.size ?? 0;
        if (entries > limits.maxEntries) refuse(`more than ${limits.maxEntries} entries`);
        if (unpackedBytes > limits.maxUnpackedBytes) refuse(`more than ${limits.maxUnpackedBytes} bytes unpacked`);
        entry.resume();
      },
    });
  } catch (err) {
    throw new BadRequestError(`the bundle is not a readable tar.gz: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (problem) throw new BadRequestError(`bundle refused: ${problem}`);
  if (entries === 0) throw new BadRequestError('bundle refused: it is empty');
  return { entries, unpackedBytes };
}
