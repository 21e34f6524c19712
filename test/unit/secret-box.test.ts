import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { KEY_FILE, SecretBox, SecretsUnreadable } from '../../services/api/secret-box.js';
import { sealedSecretSchema } from '../../shared/protocol/function-env.js';
import { makeTempDir } from '../helpers/temp.js';

// The api's sealing of secrets, on a real key file in a temp folder.
describe('SecretBox', () => {
  const log = pino({ level: 'silent' });
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });
  const dataDir = async (): Promise<string> => {
    const { dir, cleanup } = await makeTempDir('ferry-secret-box-');
    cleanups.push(cleanup);
    return path.join(dir, 'data'); // not made yet: the key's folder is made with it
  };

  it('makes the key at the first seal, 32 bytes with mode 0600, and opens what it sealed', async () => {
    const dir = await dataDir();
    const box = await SecretBox.load(dir, log);
    expect(await box.seal('fn', {})).toEqual({});
    await expect(stat(path.join(dir, KEY_FILE))).rejects.toMatchObject({ code: 'ENOENT' });

    const sealed = await box.seal('fn', { TOKEN: 'hunter2 ü\n', EMPTY: '' });
    const key = await stat(path.join(dir, KEY_FILE));
    expect({ size: key.size, mode: key.mode & 0o777 }).toEqual({ size: 32, mode: 0o600 });
    for (const value of Object.values(sealed)) expect(sealedSecretSchema.safeParse(value).success).toBe(true);
    expect(JSON.stringify(sealed)).not.toContain('hunter2');
    expect(box.open('fn', sealed)).toEqual({ TOKEN: 'hunter2 ü\n', EMPTY: '' });
    // A fresh iv per seal: the same value never seals the same way twice.
    expect((await box.seal('fn', { TOKEN: 'hunter2 ü\n' }))['TOKEN']).not.toBe(sealed['TOKEN']);
  });

  it('reads the key file again after a restart', async () => {
    const dir = await dataDir();
    const sealed = await (await SecretBox.load(dir, log)).seal('fn', { TOKEN: 'hunter2' });
    const keyBefore = await readFile(path.join(dir, KEY_FILE));
    const again = await SecretBox.load(dir, log);
    expect(again.open('fn', sealed)).toEqual({ TOKEN: 'hunter2' });
    await again.seal('fn', { OTHER: 'x' });
    expect(await readFile(path.join(dir, KEY_FILE))).toEqual(keyBefore);
  });

  it('refuses to open a value moved to another function or name, altered, sealed by another key, or with no key at all', async () => {
    const dir = await dataDir();
    const box = await SecretBox.load(dir, log);
    const sealed = await box.seal('fn', { TOKEN: 'hunter2' });
    const token = sealed['TOKEN']!;
    expect(() => box.open('other-fn', sealed)).toThrow(SecretsUnreadable);
    expect(() => box.open('fn', { OTHER: token })).toThrow(/secret OTHER of function fn does not open with key [0-9a-f]{16}: it was altered/);
    const flipped = token.slice(0, -2) + (token.at(-2) === 'A' ? 'B' : 'A') + token.at(-1);
    expect(() => box.open('fn', { TOKEN: flipped })).toThrow(SecretsUnreadable);

    await writeFile(path.join(dir, KEY_FILE), randomBytes(32));
    const otherKey = await SecretBox.load(dir, log);
    expect(() => otherKey.open('fn', sealed)).toThrow(/was sealed with key [0-9a-f]{16}, but .* is key [0-9a-f]{16}/);
    const empty = await SecretBox.load(await dataDir(), log);
    expect(() => empty.open('fn', sealed)).toThrow(/has secrets but the api has no key file/);
    expect(empty.open('fn', {})).toEqual({});
  });

  it('will not start on a key file that is not a key', async () => {
    const dir = await dataDir();
    await (await SecretBox.load(dir, log)).seal('fn', { TOKEN: 'x' });
    await writeFile(path.join(dir, KEY_FILE), 'short');
    await expect(SecretBox.load(dir, log)).rejects.toThrow(/holds 5 bytes, not a 32-byte key/);
  });
});
