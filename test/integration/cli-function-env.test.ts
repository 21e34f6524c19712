import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { runFerry, type Ran } from '../helpers/ferry-cli.js';
import { fixture } from '../helpers/fixtures.js';

// `ferry fn deploy --env/--secret/--keep-env` as a user runs it, against a real cluster.
describe('ferry fn deploy with env and secrets', () => {
  let c: Cluster;
  let dir: string;
  const ferry = (args: string[], shell: Record<string, string> = {}): Promise<Ran> => runFerry(c.url, args, shell);
  const deploy = (...args: string[]): Promise<Ran> => ferry(['fn', 'deploy', dir, '--name', 'cfg', '--runtime', 'se-exec', ...args]);
  /** A multi-line secret (a PEM key, say): the CLI sends it as it is. */
  const secret = `-----BEGIN KEY-----\n${randomBytes(24).toString('base64')}\n-----END KEY-----`;
  const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

  beforeAll(async () => {
    c = await startCluster({ workers: ['se-cli-node'] });
    expect((await ferry(['runtime', 'add', 'pythonruntime', '--name', 'se-exec', '--run', 'sh main.sh'])).code).toBe(0);
    dir = path.join(c.dir, 'cfg');
    await mkdir(dir, { recursive: true });
    for (const [name, text] of Object.entries(await fixture('env'))) await writeFile(path.join(dir, name), text);
  });
  afterAll(async () => c?.close());

  it('deploys env and secrets, names them, and the function sees them', async () => {
    const out = await deploy('--env', 'REGION=eu-west', '--secret', `API_TOKEN=${secret}`);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^deployed cfg@1 \(.*\); env REGION; secrets API_TOKEN\n$/);
    const invoked = await ferry(['invoke', 'cfg']);
    expect(JSON.parse(invoked.stdout)).toEqual({ region: 'eu-west', tokenSha256: sha256(secret) });
  });

  it('takes a bare --secret NAME from the shell, keeps the env with --keep-env, and lists names only', async () => {
    const kept = await ferry(['fn', 'deploy', dir, '--name', 'cfg', '--runtime', 'se-exec', '--keep-env', '--secret', 'API_TOKEN'], { API_TOKEN: 'from-the-shell' });
    expect(kept.stdout).toContain('deployed cfg@2');
    expect(kept.stdout).toContain('; env REGION; secrets API_TOKEN');
    expect(JSON.parse((await ferry(['invoke', 'cfg'])).stdout)).toEqual({ region: 'eu-west', tokenSha256: sha256('from-the-shell') });

    expect((await deploy()).stdout).toMatch(/deployed cfg@3 \([^)]*\)\n$/);
    expect(JSON.parse((await ferry(['invoke', 'cfg'])).stdout)).toEqual({ region: null, tokenSha256: null });

    const versions = await ferry(['fn', 'versions', 'cfg']);
    const row = (version: number, env: string, secrets: string): RegExp => new RegExp(`│ ${version}\\s.*│ ${env}\\s+│ ${secrets}\\s+│`);
    expect(versions.stdout).toMatch(row(1, 'REGION', 'API_TOKEN'));
    expect(versions.stdout).toMatch(row(2, 'REGION', 'API_TOKEN'));
    expect(versions.stdout).toMatch(row(3, '-', '-'));
    const json = await ferry(['fn', 'versions', 'cfg', '--json']);
    expect(JSON.parse(json.stdout).versions[0]).toMatchObject({ env: { REGION: 'eu-west' }, secrets: ['API_TOKEN'] });
    for (const text of [versions.stdout, json.stdout, (await ferry(['fn', 'ls', '--json'])).stdout]) {
      expect(text).not.toContain(secret.split('\n')[1]);
      expect(text).not.toContain('from-the-shell');
    }
  });

  it('refuses a bad entry before uploading (exit 2), never echoing a --secret value', async () => {
    const bare = await deploy('--secret', 'hunter2');
    expect(bare).toMatchObject({ code: 2, stdout: '' });
    expect(bare.stderr).toContain('--secret #1: expected NAME=VALUE, or the NAME of a variable set in this shell');
    expect(bare.stderr).not.toContain('hunter2');
    const own = await deploy('--env', 'FERRY_CALL_ID=x');
    expect(own.code).toBe(2);
    expect(own.stderr).toContain(`bad --env #1 "FERRY_CALL_ID": names starting with FERRY_ are Ferry's own`);
    expect(JSON.parse((await ferry(['fn', 'versions', 'cfg', '--json'])).stdout).versions).toHaveLength(3);
  });
});
