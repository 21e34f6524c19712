import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { curveKeyPair } from 'zeromq';
import { moduleLogger } from '../../shared/logger.js';
import { AllowedKeys } from '../../shared/security/allowed-keys.js';
import { allowKey, denyKey, parseAllowlist } from '../../shared/security/allowlist-file.js';
import { loadOrCreateKeyPair } from '../../shared/security/curve-keys.js';
import { nodeKeyProof, verifyNodeKeyProof } from '../../shared/security/node-key-proof.js';
import { isCurveKey, z85Decode, z85Encode } from '../../shared/security/z85.js';
import { makeTempDir } from '../helpers/temp.js';

async function tempDir(): Promise<string> {
  const { dir, cleanup } = await makeTempDir('ferry-curve-unit-');
  onTestFinished(cleanup);
  return dir;
}

const modeOf = async (file: string): Promise<number> => (await stat(file)).mode & 0o777;

describe('Z85', () => {
  it("encodes RFC 32's example and ZeroMQ's own keys both ways", () => {
    const hello = Buffer.from([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]);
    expect(z85Encode(hello)).toBe('HelloWorld');
    expect(z85Decode('HelloWorld')).toEqual(hello);
    const { publicKey, secretKey } = curveKeyPair();
    for (const key of [publicKey, secretKey]) {
      expect(z85Decode(key)).toHaveLength(32);
      expect(z85Encode(z85Decode(key)!)).toBe(key);
      expect(isCurveKey(key)).toBe(true);
    }
    expect(z85Decode('Hello"orld')).toBeNull();
    expect(isCurveKey(publicKey.slice(1))).toBe(false);
  });
});

describe('the allowlist file', () => {
  it('reads keys with optional names, skips comments and blank lines, and reports other lines', () => {
    const [a, b] = [curveKeyPair().publicKey, curveKeyPair().publicKey];
    const parsed = parseAllowlist(`# header\n\n${a} worker-1   # the first node\n  ${b}\nnot-a-key\n${a} two names\n`);
    expect(parsed.entries).toEqual([
      { publicKey: a, name: 'worker-1' },
      { publicKey: b, name: null },
    ]);
    expect(parsed.bad.map((l) => l.line)).toEqual([5, 6]);
  });

  it('allow adds or renames a key, deny removes a key or every key of a name, and lines it did not write stay', async () => {
    const dir = await tempDir();
    const [a, b, c] = [curveKeyPair().publicKey, curveKeyPair().publicKey, curveKeyPair().publicKey];
    expect(await allowKey(dir, a, 'gpu')).toBe('added');
    expect(await allowKey(dir, a, null)).toBe('unchanged');
    expect(await allowKey(dir, b, 'gpu')).toBe('added');
    expect(await allowKey(dir, c, null)).toBe('added');
    expect(await allowKey(dir, c, 'cpu')).toBe('renamed');
    await writeFile(path.join(dir, 'allowed-keys'), `${await readFile(path.join(dir, 'allowed-keys'), 'utf8')}# kept by hand\n`);
    await expect(allowKey(dir, 'short', null)).rejects.toThrow(/not a CurveZMQ public key/);

    expect((await denyKey(dir, 'gpu')).map((e) => e.publicKey)).toEqual([a, b]);
    expect(await denyKey(dir, a)).toEqual([]);
    const text = await readFile(path.join(dir, 'allowed-keys'), 'utf8');
    expect(parseAllowlist(text).entries).toEqual([{ publicKey: c, name: 'cpu' }]);
    expect(text).toContain('# kept by hand');
  });
});

describe('key files', () => {
  it('makes a key pair at the first start (folder 0700, key 0600, public key 0644) and reads it after', async () => {
    const dir = path.join(await tempDir(), 'curve');
    const made = await loadOrCreateKeyPair(dir, 'db');
    expect(made.created).toBe(true);
    expect(await modeOf(dir)).toBe(0o700);
    expect(await modeOf(path.join(dir, 'db.key'))).toBe(0o600);
    expect(await modeOf(path.join(dir, 'db.pub'))).toBe(0o644);
    expect((await readFile(path.join(dir, 'db.pub'), 'utf8')).trim()).toBe(made.keys.publicKey);
    expect(await loadOrCreateKeyPair(dir, 'db')).toEqual({ keys: made.keys, created: false });
  });

  it('refuses a key file other users may read', async () => {
    const dir = path.join(await tempDir(), 'curve');
    await loadOrCreateKeyPair(dir, 'api');
    await chmod(path.join(dir, 'api.key'), 0o644);
    await expect(loadOrCreateKeyPair(dir, 'api')).rejects.toThrow(/readable by other users.*chmod 600/);
  });
});

describe("a node's key proof", () => {
  it('holds only for the key pair it names, the node id it was made for and the api it was made to', () => {
    const [api, worker, other] = [curveKeyPair(), curveKeyPair(), curveKeyPair()];
    const proof = nodeKeyProof(worker, api.publicKey, 'node-1');
    expect(verifyNodeKeyProof(api, worker.publicKey, 'node-1', proof)).toBe(true);
    expect(verifyNodeKeyProof(api, worker.publicKey, 'node-2', proof)).toBe(false);
    expect(verifyNodeKeyProof(api, other.publicKey, 'node-1', proof)).toBe(false);
    expect(verifyNodeKeyProof(other, worker.publicKey, 'node-1', proof)).toBe(false);
    // Another node's public key is no use without its secret key.
    expect(verifyNodeKeyProof(api, worker.publicKey, 'node-1', nodeKeyProof(other, api.publicKey, 'node-1'))).toBe(false);
    expect(verifyNodeKeyProof(api, 'not a key', 'node-1', proof)).toBe(false);
  });
});

describe('allowed keys', () => {
  it("allow the folder's daemon keys and the listed ones, and hear an edit that removes one", async () => {
    const dir = path.join(await tempDir(), 'curve');
    const db = (await loadOrCreateKeyPair(dir, 'db')).keys.publicKey;
    const listed = curveKeyPair().publicKey;
    await allowKey(dir, listed, 'far-node');
    const allowed = await AllowedKeys.open(dir, moduleLogger('test'));
    onTestFinished(() => allowed.close());
    expect([allowed.has(db), allowed.has(listed), allowed.size]).toEqual([true, true, 2]);

    const removed = new Promise<string[]>((resolve) => allowed.onRemoved(resolve));
    await denyKey(dir, 'far-node');
    expect(await removed).toEqual([listed]);
    expect(allowed.has(listed)).toBe(false);

    // A key listed a moment ago is let in even before the change is heard.
    const late = curveKeyPair().publicKey;
    await allowKey(dir, late, null);
    expect(await allowed.admits(late)).toBe(true);
  });
});
