import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../files/atomic-write.js';
import { ensureCurveDir } from './key-files.js';
import { isCurveKey } from './z85.js';

/**
 * `<FERRY_DATA_DIR>/curve/allowed-keys`: the CurveZMQ public keys of clients from other hosts
 * that the servers of this data folder accept. One Z85 key per line with an optional name after
 * it; a line starting with `#` is a comment, as is anything after ` #` (a Z85 key never starts
 * with `#`). Daemons re-read it when it changes; `ferry node allow|deny` edit it.
 */
export const ALLOWLIST_FILE = 'allowed-keys';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@:-]{0,63}$/;

export interface AllowedEntry {
  publicKey: string;
  name: string | null;
}

export interface ParsedAllowlist {
  entries: AllowedEntry[];
  /** Lines that are neither a comment nor a key (1-based line numbers), for a warning. */
  bad: { line: number; text: string }[];
}

/** True when `name` may name a key in the allowlist. */
export function isKeyName(name: string): boolean {
  return NAME.test(name);
}

export function allowlistPath(curveDir: string): string {
  return path.join(curveDir, ALLOWLIST_FILE);
}

export function parseAllowlist(text: string): ParsedAllowlist {
  const parsed: ParsedAllowlist = { entries: [], bad: [] };
  text.split('\n').forEach((raw, i) => {
    const entry = parseLine(raw);
    if (entry === 'blank') return;
    if (entry) parsed.entries.push(entry);
    else parsed.bad.push({ line: i + 1, text: raw.trim().slice(0, 120) });
  });
  return parsed;
}

/** The file's text, or '' when it does not exist. */
export async function readAllowlistText(curveDir: string): Promise<string> {
  try {
    return await readFile(allowlistPath(curveDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

/**
 * Adds `publicKey` (named `name` when given) to the allowlist; a key already there keeps its
 * line and takes the new name. Resolves with what changed.
 */
export async function allowKey(curveDir: string, publicKey: string, name: string | null): Promise<'added' | 'renamed' | 'unchanged'> {
  if (!isCurveKey(publicKey)) throw new Error(`not a CurveZMQ public key (40 Z85 characters): ${publicKey}`);
  if (name !== null && !isKeyName(name)) throw new Error(`bad key name "${name}": 1 to 64 letters, digits, ".", "_", "@", ":" or "-"`);
  const lines = (await readAllowlistText(curveDir)).split('\n');
  const at = lines.findIndex((l) => entryOf(l)?.publicKey === publicKey);
  const line = name === null ? publicKey : `${publicKey} ${name}`;
  let result: 'added' | 'renamed' | 'unchanged';
  if (at < 0) {
    if (lines.length === 1 && lines[0] === '') lines.splice(0, 1, ...HEADER);
    if (lines[lines.length - 1] === '') lines.pop();
    lines.push(line, '');
    result = 'added';
  } else {
    if (name === null || entryOf(lines[at]!)?.name === name) return 'unchanged';
    lines[at] = line;
    result = 'renamed';
  }
  await writeAllowlist(curveDir, lines.join('\n'));
  return result;
}

/** Removes every line naming `keyOrName` (a key, or the name given to keys); resolves with the entries removed. */
export async function denyKey(curveDir: string, keyOrName: string): Promise<AllowedEntry[]> {
  const removed: AllowedEntry[] = [];
  const kept = (await readAllowlistText(curveDir)).split('\n').filter((l) => {
    const entry = entryOf(l);
    if (!entry || (entry.publicKey !== keyOrName && entry.name !== keyOrName)) return true;
    removed.push(entry);
    return false;
  });
  if (removed.length > 0) await writeAllowlist(curveDir, kept.join('\n'));
  return removed;
}

const HEADER = [
  '# CurveZMQ public keys of clients on other hosts that the daemons of this data folder accept.',
  '# One Z85 key per line, an optional name after it; "#" starts a comment. The daemons of this',
  '# folder are accepted without being listed. Edit with `ferry node allow|deny`; the daemons',
  '# read the file again when it changes.',
];

async function writeAllowlist(curveDir: string, text: string): Promise<void> {
  await ensureCurveDir(curveDir);
  await writeFileAtomic(allowlistPath(curveDir), text, 0o644);
}

function entryOf(raw: string): AllowedEntry | null {
  const entry = parseLine(raw);
  return entry === 'blank' ? null : entry;
}

function parseLine(raw: string): AllowedEntry | 'blank' | null {
  const text = raw.replace(/(^|\s)#.*$/, '').trim();
  if (text === '') return 'blank';
  const [publicKey = '', name, ...rest] = text.split(/\s+/);
  if (!isCurveKey(publicKey) || rest.length > 0 || (name !== undefined && !isKeyName(name))) return null;
  return { publicKey, name: name ?? null };
}
