import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { curveKeyPair } from 'zeromq';
import { createOwnerOnly, writeFileAtomic } from '../files/atomic-write.js';
import { ensureCurveDir, readPublicKeyFile } from './key-files.js';
import { isCurveKey } from './z85.js';

/**
 * The key files of the daemons of one data folder, in `<FERRY_DATA_DIR>/curve/` (mode 0700):
 * `<name>.key` holds a daemon's key pair (mode 0600, written with that mode, never wider) and
 * `<name>.pub` its public key alone, for operators and for the other daemons of the folder.
 * Names: `db`, `registry`, `api`, `worker-<nodeId>`.
 */

/** A CurveZMQ key pair, both keys in Z85. */
export interface CurveKeyPair {
  publicKey: string;
  secretKey: string;
}

/**
 * The key pair of daemon `name`: read from `<name>.key`, or made and written on its first start.
 * Throws when the key file is readable by other users (as ssh refuses such a private key) or
 * does not hold a key pair.
 */
export async function loadOrCreateKeyPair(dir: string, name: string): Promise<{ keys: CurveKeyPair; created: boolean }> {
  await ensureCurveDir(dir);
  const keyFile = path.join(dir, `${name}.key`);
  let keys = await readKeyFile(keyFile);
  let created = false;
  if (!keys) {
    keys = curveKeyPair();
    created = await createOwnerOnly(
      keyFile,
      `# Ferry CurveZMQ key pair of "${name}": the secret key is this daemon's identity, keep it private.\n` + `public-key=${keys.publicKey}\nsecret-key=${keys.secretKey}\n`,
    );
    // Another process of the same name made it first: its pair is the one.
    if (!created) keys = await readKeyFile(keyFile);
    if (!keys) throw new Error(`${keyFile} appeared without a key pair in it`);
  }
  const pubFile = path.join(dir, `${name}.pub`);
  if ((await readPublicKeyFile(pubFile)) !== keys.publicKey) await writeFileAtomic(pubFile, `${keys.publicKey}\n`, 0o644);
  return { keys, created };
}

async function readKeyFile(file: string): Promise<CurveKeyPair | null> {
  let text: string;
  try {
    const { mode } = await stat(file);
    if ((mode & 0o077) !== 0) {
      throw new Error(`${file} is readable by other users (mode ${(mode & 0o777).toString(8)}): run chmod 600 on it`);
    }
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const field = (key: string): string | undefined => new RegExp(`^${key}=(\\S+)$`, 'm').exec(text)?.[1];
  const publicKey = field('public-key');
  const secretKey = field('secret-key');
  if (!publicKey || !secretKey || !isCurveKey(publicKey) || !isCurveKey(secretKey)) throw new Error(`${file} does not hold a CurveZMQ key pair`);
  return { publicKey, secretKey };
}
