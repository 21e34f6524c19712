import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDbClient } from '../../shared/clients/db-client.js';
import type { Call, FunctionView } from '../../shared/protocol/domain.js';
import { makeBundle } from '../helpers/bundles.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { curveTo } from '../helpers/curve.js';
import { fixture } from '../helpers/fixtures.js';
import { http, upload } from '../helpers/http.js';
import { waitUntil } from '../helpers/temp.js';

/**
 * A secret no log line, reply or file could hold by chance, with characters a shell or JSON would
 * mangle. (No newline: a FormData client sends one as CRLF, as multipart/form-data has it.)
 */
const SECRET = `tok-${randomBytes(12).toString('hex')} ="quoted" \\ $HOME 'ü'`;
const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

const runtimes = [
  { name: 'se-exec', image: 'pythonruntime', path: '/ws', run: 'sh main.sh', protocol: 'exec' },
  { name: 'se-py', image: 'pythonruntime', path: '/ws', run: 'main.py', protocol: 'agent' },
  { name: 'se-node', image: 'noderuntime', path: '/ws', run: 'index.js', protocol: 'agent' },
] as const;

/** Every file under `dir`, read whole. */
async function filesUnder(dir: string): Promise<{ file: string; bytes: Buffer }[]> {
  const out: { file: string; bytes: Buffer }[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    out.push({ file, bytes: await readFile(file) });
  }
  return out;
}

describe('env and secrets of a function version (real daemons, Docker)', () => {
  let c: Cluster;
  let bundle: { file: string };
  const push = <T = FunctionView>(name: string, runtime: string, fields: Record<string, string | string[]> = {}) =>
    upload<T>(`${c.url}/v1/functions/${name}`, bundle.file, { runtime, ...fields });
  const invoke = async (ref: string): Promise<Call> => {
    const reply = await http<Call>('POST', `${c.url}/v1/functions/${ref}/invoke?wait=true`, {});
    expect(reply.status).toBe(200);
    return reply.body;
  };
  const seen = (call: Call): unknown => (call.status === 'DONE' ? JSON.parse(call.result) : call);

  beforeAll(async () => {
    c = await startCluster({ workers: ['se-node-1'] });
    for (const rt of runtimes) expect((await http('POST', `${c.url}/v1/runtimes`, rt)).status).toBe(201);
    bundle = await makeBundle(c.dir, 'env', await fixture('env'));
  });
  afterAll(async () => c?.close());

  it('makes no key until the first secret is pushed', async () => {
    expect((await push('plain', 'se-exec', { env: 'REGION=eu-west' })).status).toBe(201);
    await expect(stat(path.join(c.dir, 'secrets.key'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('hands a function its env and secret values: an exec run, a python agent and a node agent', async () => {
    for (const rt of runtimes) {
      const pushed = await push(`env-${rt.name}`, rt.name, { env: ['REGION=eu-west', 'STAGE=prod'], secret: `API_TOKEN=${SECRET}` });
      expect(pushed.status).toBe(201);
      expect(seen(await invoke(`env-${rt.name}`))).toEqual({ region: 'eu-west', tokenSha256: sha256(SECRET) });
    }
  });

  it('writes secrets.key at the first secret: 32 bytes, mode 0600', async () => {
    const key = await stat(path.join(c.dir, 'secrets.key'));
    expect({ size: key.size, mode: (key.mode & 0o777).toString(8) }).toEqual({ size: 32, mode: '600' });
  });

  it('shows env and secret names, never a secret value: push reply, function, version, versions, list, calls, logs', async () => {
    const pushed = await push('shown', 'se-exec', { env: 'REGION=eu-west', secret: [`API_TOKEN=${SECRET}`, 'OTHER=x'] });
    expect(pushed.body).toMatchObject({ name: 'shown', env: { REGION: 'eu-west' }, secrets: ['API_TOKEN', 'OTHER'] });
    const call = await invoke('shown');
    const replies = await Promise.all(
      [
        '/v1/functions',
        '/v1/functions/shown',
        '/v1/functions/shown@1',
        '/v1/functions/shown/versions',
        `/v1/calls/${call.id}`,
        `/v1/calls/${call.id}/logs`,
        `/v1/calls/${call.id}/executions`,
        '/v1/calls?funcName=shown',
        '/functions',
        `/call/${call.callNum}`,
      ].map((route) => http('GET', `${c.url}${route}`)),
    );
    expect((await http<FunctionView>('GET', `${c.url}/v1/functions/shown@1`)).body).toMatchObject({ env: { REGION: 'eu-west' }, secrets: ['API_TOKEN', 'OTHER'] });
    for (const text of [pushed.text, JSON.stringify(call), ...replies.map((r) => r.text)]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toMatch(/v1\.[0-9a-f]{16}\./); // nor the sealed value
    }
  });

  it('stores secrets sealed: the db answers and keeps no value in the clear', async () => {
    const db = createDbClient({ dbAddr: c.db.endpoint, requestTimeoutMs: 10_000, requestRetries: 0 }, curveTo(c.db.endpoint));
    try {
      const stored = await db.call('getFunction', { name: 'env-se-exec' });
      expect(stored.secrets?.['API_TOKEN']).toMatch(/^v1\.[0-9a-f]{16}\./);
      expect(JSON.stringify(stored)).not.toContain(SECRET);
    } finally {
      await db.close();
    }
    // Every file of the cluster as it is on disk: LevelDB's log and tables among them.
    const files = await filesUnder(c.dir);
    expect(files.filter((f) => f.bytes.includes(Buffer.from(SECRET))).map((f) => f.file)).toEqual([]);
    const store = c.env['FERRY_STORE'] ?? 'level';
    if (store === 'level') {
      // The scan reads what LevelDB wrote: the plain env value is there.
      expect(files.some((f) => f.file.startsWith(path.join(c.dir, 'db')) && f.bytes.includes(Buffer.from('eu-west')))).toBe(true);
    } else {
      // A PostgreSQL store (FERRY_TEST_CLUSTER_STORE=postgres): the stored function versions as text.
      const client = new pg.Client({ connectionString: store });
      await client.connect();
      try {
        const text = (await client.query('SELECT record::text AS t FROM ferry_functions')).rows.map((r) => String(r.t)).join('\n');
        expect(text).toContain('eu-west');
        expect(text).not.toContain(SECRET);
      } finally {
        await client.end();
      }
    }
  });

  it("keeps secret values out of every daemon's log of the pushes and the calls", () => {
    const daemons = { db: c.db, registry: c.registry, api: c.api, ...Object.fromEntries(c.workers) };
    for (const [name, d] of Object.entries(daemons)) {
      expect(d.logs.length, `${name} logged`).toBeGreaterThan(0);
      const text = JSON.stringify(d.logs) + d.stderr();
      expect(text.includes(SECRET) || text.includes(JSON.stringify(SECRET).slice(1, -1)), `${name}'s log`).toBe(false);
    }
    expect(c.api.logs.find((l) => l['msg'] === 'function pushed' && l['fn'] === 'shown@1')).toMatchObject({ secretNames: ['API_TOKEN', 'OTHER'] });
  });

  it('refuses bad names, Ferry\'s own names, a name given twice or as both kinds, and bad entries with 400, never quoting a value', async () => {
    const refused = async (fields: Record<string, string | string[]>): Promise<string> => {
      const reply = await push<{ error: { code: string; message: string } }>('refused', 'se-exec', fields);
      expect(reply.status).toBe(400);
      expect(reply.text).not.toContain('hunter2');
      return `${reply.body.error.code}: ${reply.body.error.message}`;
    };
    expect(await refused({ secret: '9LIVES=hunter2' })).toBe('BAD_REQUEST: bad field "secret" #1 "9LIVES": a name is letters, digits and "_", not starting with a digit');
    expect(await refused({ env: ['A=1', 'BAD-NAME=hunter2'] })).toBe('BAD_REQUEST: bad field "env" #2 "BAD-NAME": a name is letters, digits and "_", not starting with a digit');
    expect(await refused({ secret: 'FERRY_PARAMS=hunter2' })).toBe(`BAD_REQUEST: bad field "secret" #1 "FERRY_PARAMS": names starting with FERRY_ are Ferry's own`);
    expect(await refused({ secret: 'hunter2' })).toBe('BAD_REQUEST: bad field "secret" #1: expected NAME=VALUE');
    expect(await refused({ secret: ['T=hunter2', 'T=hunter2'] })).toBe('BAD_REQUEST: bad field "secret" #2: "T" is given twice');
    expect(await refused({ env: 'T=1', secret: 'T=hunter2' })).toBe('BAD_REQUEST: T given both as env and as a secret');
    expect(await refused({ secret: `T=hunter2${'x'.repeat(16 * 1024)}` })).toBe('BAD_REQUEST: bad field "secret" #1 "T": the value is longer than 16384 bytes');
    expect(await refused({ env: Array.from({ length: 65 }, (_, i) => `V${i}=1`) })).toBe('BAD_REQUEST: 65 env and secret names, at most 64');
    expect((await http('GET', `${c.url}/v1/functions/refused`)).status).toBe(404);
  });

  it('gives each version the env of its own push; keepEnv starts from the latest, names pushed replacing theirs', async () => {
    expect((await push('versions', 'se-exec', { env: 'REGION=eu-west', secret: `API_TOKEN=${SECRET}` })).status).toBe(201);
    const bare = await push('versions', 'se-exec');
    expect(bare.body).toMatchObject({ version: 2, env: {}, secrets: [] });
    expect(seen(await invoke('versions'))).toEqual({ region: null, tokenSha256: null });
    expect(seen(await invoke('versions@1'))).toEqual({ region: 'eu-west', tokenSha256: sha256(SECRET) });

    expect((await push('versions', 'se-exec', { env: 'REGION=eu-west', secret: `API_TOKEN=${SECRET}` })).body).toMatchObject({ version: 3 });
    const kept = await push('versions', 'se-exec', { keepEnv: 'true', env: 'STAGE=prod' });
    expect(kept.body).toMatchObject({ version: 4, env: { REGION: 'eu-west', STAGE: 'prod' }, secrets: ['API_TOKEN'] });
    expect(seen(await invoke('versions'))).toEqual({ region: 'eu-west', tokenSha256: sha256(SECRET) });
    // A name pushed again replaces the kept one, whichever kind it was.
    const replaced = await push('versions', 'se-exec', { keepEnv: 'true', env: 'API_TOKEN=now-plain', secret: 'REGION=now-secret' });
    expect(replaced.body).toMatchObject({ version: 5, env: { STAGE: 'prod', API_TOKEN: 'now-plain' }, secrets: ['REGION'] });
    expect(seen(await invoke('versions'))).toEqual({ region: 'now-secret', tokenSha256: sha256('now-plain') });
  });

  it('opens secrets after the api and the db restart, with the same key file', async () => {
    const keyFile = path.join(c.dir, 'secrets.key');
    const before = await readFile(keyFile);
    await c.restart('db');
    await c.restart('api');
    expect(seen(await invoke('env-se-py'))).toEqual({ region: 'eu-west', tokenSha256: sha256(SECRET) });
    expect(await readFile(keyFile)).toEqual(before);
    const after = await push('after-restart', 'se-exec', { secret: `API_TOKEN=${SECRET}` });
    expect(seen(await invoke(`after-restart@${after.body.version}`))).toEqual({ region: null, tokenSha256: sha256(SECRET) });
  });

  it('ends a call ERROR SECRETS_UNREADABLE when the key file is not the one that sealed its secrets, and runs it once the key is back', async () => {
    const keyFile = path.join(c.dir, 'secrets.key');
    const key = await readFile(keyFile);
    await writeFile(keyFile, randomBytes(32), { mode: 0o600 });
    await c.restart('api');
    const failed = await invoke('env-se-exec');
    expect(failed).toMatchObject({ status: 'ERROR', error: { code: 'SECRETS_UNREADABLE' } });
    expect(failed.error?.message).toContain('was sealed with key');
    // Plain env needs no key.
    expect(seen(await invoke('plain'))).toEqual({ region: 'eu-west', tokenSha256: null });

    await writeFile(keyFile, key, { mode: 0o600 });
    await c.restart('api');
    expect((await http('POST', `${c.url}/v1/calls/${failed.id}/retry`)).status).toBe(200);
    let again = failed;
    await waitUntil(async () => {
      again = (await http<Call>('GET', `${c.url}/v1/calls/${failed.id}`)).body;
      return again.status === 'DONE';
    }, 'the retried call is DONE', 30_000);
    expect(JSON.parse(again.result)).toEqual({ region: 'eu-west', tokenSha256: sha256(SECRET) });
  });
});
