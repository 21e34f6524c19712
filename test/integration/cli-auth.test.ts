import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { runFerry, type Ran } from '../helpers/ferry-cli.js';

const fakeRuntime = { name: 'au-cli-rt', image: 'ferry-test/never-built', path: '/ws', run: 'sh main.sh', protocol: 'exec' };

// The built CLI with API keys, as a user runs it: a real process against a real cluster, auth on.
describe('ferry login and ferry keys', () => {
  let c: Cluster;
  /** A home of the CLI's own: its config folder (where login saves keys) and an empty data folder. */
  let home: Record<string, string>;
  /** The CLI with no key of the cluster's given: only what `ferry login` saved or a data folder can give it. */
  const bare = (...args: string[]): Promise<Ran> => runFerry(c.url, args, { ...home, FERRY_TOKEN: '' });
  /** The CLI given the cluster's admin key (FERRY_TOKEN). */
  const admin = (...args: string[]): Promise<Ran> => runFerry(c.url, args, home);

  beforeAll(async () => {
    c = await startCluster();
    home = { XDG_CONFIG_HOME: path.join(c.dir, 'config'), FERRY_DATA_DIR: path.join(c.dir, 'elsewhere') };
    await mkdir(home['FERRY_DATA_DIR']!, { recursive: true });
  });
  afterAll(async () => c?.close());

  it('says how to give a key when none is given', async () => {
    const r = await bare('calls');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('UNAUTHENTICATED: an API key is needed');
    expect(r.stderr).toContain('this cluster needs an API key and none was given: give one with --token KEY, FERRY_TOKEN=KEY or `ferry login`');
  });

  it('makes, lists and revokes keys, and logs in with one', async () => {
    const made = await admin('keys', 'create', '--role', 'invoker', '--name', 'ci', '--expires-in', '30d');
    expect(made.code, made.stderr).toBe(0);
    const key = made.stdout.trim();
    expect(key).toMatch(/^fry_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    const keyId = key.split('_')[1]!;
    expect(made.stderr).toContain(`key ${keyId} (invoker, "ci"; expires `);
    expect(made.stderr).toContain('It is shown this once');

    const ls = await admin('keys', 'ls');
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(new RegExp(`${keyId}\\s*│\\s*ci\\s*│\\s*invoker\\s*│\\s*active`));
    expect(ls.stdout).not.toContain(key);
    expect(ls.stdout).toContain('first admin key');

    const login = await bare('login', '--token', key);
    expect(login.code, login.stderr).toBe(0);
    const file = path.join(home['XDG_CONFIG_HOME']!, 'ferry', 'credentials.json');
    expect(login.stdout).toBe(`logged in to ${c.url} as key ${keyId} (invoker, "ci"); saved in ${file}\n`);
    expect((await stat(file)).mode & 0o777).toBe(0o600);

    // The saved key is sent from now on: it may invoke and read, not manage keys.
    expect(await bare('whoami')).toMatchObject({ code: 0, stdout: `key ${keyId} (invoker, "ci")\n` });
    expect((await bare('calls')).code).toBe(0);
    const refused = await bare('keys', 'ls');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`FORBIDDEN: API key ${keyId} has role invoker`);
    expect(refused.stderr).toContain('use a key whose role allows this');
    // --token and FERRY_TOKEN come before the saved key.
    expect((await bare('--token', c.adminKey!, 'whoami')).stdout).toContain('(admin, "first admin key")');

    const revoked = await admin('keys', 'revoke', keyId);
    expect(revoked).toMatchObject({ code: 0, stdout: `revoked key ${keyId} (invoker, "ci")\n` });
    expect((await admin('keys', 'ls')).stdout).toMatch(new RegExp(`${keyId}\\s*│\\s*ci\\s*│\\s*invoker\\s*│\\s*revoked`));
    const after = await bare('whoami');
    expect(after.code).toBe(1);
    expect(after.stderr).toContain(`UNAUTHENTICATED: API key ${keyId} was revoked`);
    expect(after.stderr).toContain(`the cluster refused the key from the key \`ferry login\` saved in ${file}`);

    const badLogin = await bare('login', '--token', 'fry_000000000000_' + 'A'.repeat(43));
    expect(badLogin.code).toBe(1);
    expect(badLogin.stderr).toContain('UNAUTHENTICATED: unknown API key');
  });

  it("uses a local cluster's admin.key when nothing else gives a key", async () => {
    const r = await runFerry(c.url, ['whoami'], { XDG_CONFIG_HOME: path.join(c.dir, 'no-config'), FERRY_DATA_DIR: c.dir, FERRY_TOKEN: '' });
    expect(r).toMatchObject({ code: 0, stdout: `key ${c.adminKey!.split('_')[1]} (admin, "first admin key")\n` });
  });

  it('sends the key with a push and an event stream too, and shows who invoked a call', async () => {
    expect((await admin('runtime', 'add', fakeRuntime.image, '--name', fakeRuntime.name, '--run', fakeRuntime.run)).code).toBe(0);
    const dir = path.join(c.dir, 'au-fn');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'main.sh'), 'cat\n');
    const pushed = await admin('fn', 'deploy', dir, '--name', 'au-echo', '--runtime', fakeRuntime.name);
    expect(pushed.code, pushed.stderr).toBe(0);
    const refusedPush = await bare('fn', 'deploy', dir, '--name', 'au-echo', '--runtime', fakeRuntime.name);
    expect(refusedPush.code).toBe(1);
    expect(refusedPush.stderr).toContain('UNAUTHENTICATED');
    const id = (await admin('invoke', 'au-echo', '--hold')).stdout.trim();
    const shown = await admin('call', id);
    expect(shown.stdout).toMatch(new RegExp(`invoker\\s+key ${c.adminKey!.split('_')[1]}`));
    expect((await admin('cancel', id)).code).toBe(0);
    // `ferry wait` reads the call's event stream, which needs the key as well.
    const waited = await admin('wait', id);
    expect(waited.stderr).toContain('CANCELLED');
  });
});
