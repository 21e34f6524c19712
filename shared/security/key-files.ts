import { chmod, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { isCurveKey } from './z85.js';

/** The plain files of `<FERRY_DATA_DIR>/curve/` (see curve-keys.ts): its folder, and public keys. */

export interface NamedKey {
  name: string;
  publicKey: string;
}

/** The folder of a data folder's key files and allowlist. */
export function curveDirOf(dataDir: string): string {
  return path.join(dataDir, 'curve');
}

/** Makes the key folder when missing and keeps it private (0700) either way. */
export async function ensureCurveDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (((await stat(dir)).mode & 0o077) !== 0) await chmod(dir, 0o700);
}

/** The public key in `<name>.pub` of `dir`, or null when there is none. */
export function readPublicKey(dir: string, name: string): Promise<string | null> {
  return readPublicKeyFile(path.join(dir, `${name}.pub`));
}

/** Every daemon public key of the folder (its `.pub` files), by name. */
export async function listPublicKeys(dir: string): Promise<NamedKey[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const keys: NamedKey[] = [];
  for (const entry of entries.filter((e) => e.endsWith('.pub')).sort()) {
    const publicKey = await readPublicKeyFile(path.join(dir, entry));
    if (publicKey) keys.push({ name: entry.slice(0, -'.pub'.length), publicKey });
  }
  return keys;
}

/** The key in a `.pub` file, or null when the file is missing or holds no key. */
export async function readPublicKeyFile(file: string): Promise<string | null> {
  try {
    const key = (await readFile(file, 'utf8')).trim();
    return isCurveKey(key) ? key : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
