import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { createOwnerOnly } from '../../shared/files/atomic-write.js';
import type { Logger } from '../../shared/logger.js';
import type { EnvMap } from '../../shared/protocol/function-env.js';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const FORMAT = 'v1';
export const KEY_FILE = 'secrets.key';

/** A function's secrets could not be opened: the key file is gone, or is not the one that sealed them. */
export class SecretsUnreadable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretsUnreadable';
  }
}

/**
 * Seals and opens functions' secrets with AES-256-GCM under one key, kept in
 * `<FERRY_DATA_DIR>/secrets.key` (32 random bytes, mode 0600) on the api's host and made at the
 * first secret pushed. Only the api holds it: secrets are sealed before they go to the db and
 * opened only to build the dispatch a worker runs, so the db never holds one in the clear.
 *
 * A sealed value names its key (`v1.<key id>.<iv>.<tag>.<ciphertext>`) and is bound to its
 * function and variable name (the GCM additional data), so it cannot be moved to another.
 */
export class SecretBox {
  private making: Promise<Buffer> | null = null;

  private constructor(
    private readonly file: string,
    private key: Buffer | null,
  ) {}

  /**
   * The box of `dataDir`, with its key when the file exists.
   * @throws Error when the key file exists but is not a key (wrong size), so the api does not
   *   start and seal new secrets under another key than the stored ones
   */
  static async load(dataDir: string, log: Logger): Promise<SecretBox> {
    const file = path.join(dataDir, KEY_FILE);
    const key = await readKey(file);
    if (key && ((await stat(file)).mode & 0o077) !== 0) log.warn({ file }, 'the secrets key file can be read by others than its owner: chmod 600 it');
    return new SecretBox(file, key);
  }

  /** `secrets` of function `fn`, each sealed; makes the key file the first time. */
  async seal(fn: string, secrets: EnvMap): Promise<Record<string, string>> {
    const entries = Object.entries(secrets);
    if (entries.length === 0) return {};
    const key = await this.keyForSealing();
    const kid = keyId(key);
    return Object.fromEntries(
      entries.map(([name, value]) => {
        const iv = randomBytes(IV_BYTES);
        const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
        cipher.setAAD(additionalData(fn, name));
        const sealed = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
        return [name, [FORMAT, kid, b64(iv), b64(cipher.getAuthTag()), b64(sealed)].join('.')];
      }),
    );
  }

  /**
   * The secrets of function `fn` in the clear, for the dispatch of one of its calls.
   * @throws SecretsUnreadable when there is no key, another key sealed them, or one was altered
   */
  open(fn: string, sealed: Readonly<Record<string, string>> | undefined): EnvMap {
    const entries = Object.entries(sealed ?? {});
    if (entries.length === 0) return {};
    const key = this.key;
    if (!key) throw new SecretsUnreadable(`function ${fn} has secrets but the api has no key file (${this.file})`);
    const kid = keyId(key);
    return Object.fromEntries(
      entries.map(([name, value]) => {
        const [format, sealedKid, iv, tag, data] = value.split('.');
        if (format !== FORMAT || iv === undefined || tag === undefined || data === undefined) {
          throw new SecretsUnreadable(`secret ${name} of function ${fn} is not a sealed value`);
        }
        if (sealedKid !== kid) {
          throw new SecretsUnreadable(`secret ${name} of function ${fn} was sealed with key ${sealedKid}, but ${this.file} is key ${kid}`);
        }
        try {
          const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES });
          decipher.setAAD(additionalData(fn, name));
          decipher.setAuthTag(Buffer.from(tag, 'base64url'));
          return [name, Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8')];
        } catch {
          throw new SecretsUnreadable(`secret ${name} of function ${fn} does not open with key ${kid}: it was altered`);
        }
      }),
    );
  }

  private keyForSealing(): Promise<Buffer> {
    if (this.key) return Promise.resolve(this.key);
    this.making ??= makeKey(this.file).then(
      (key) => (this.key = key),
      (err: unknown) => {
        this.making = null; // the next push tries again
        throw err;
      },
    );
    return this.making;
  }
}

/** The key in `file`, or null when there is no such file. */
async function readKey(file: string): Promise<Buffer | null> {
  let key: Buffer;
  try {
    key = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  if (key.length !== KEY_BYTES) throw new Error(`${file} holds ${key.length} bytes, not a ${KEY_BYTES}-byte key`);
  return key;
}

/** A new key in `file`, unless another process made one first: that one is used. */
async function makeKey(file: string): Promise<Buffer> {
  await mkdir(path.dirname(file), { recursive: true });
  await createOwnerOnly(file, randomBytes(KEY_BYTES));
  const key = await readKey(file);
  if (!key) throw new Error(`${file} vanished as it was made`);
  return key;
}

function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

function additionalData(fn: string, name: string): Buffer {
  return Buffer.from(`ferry-secret\0${fn}\0${name}`);
}

const b64 = (bytes: Buffer): string => bytes.toString('base64url');
