import { readFile, stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeNeeds } from '../../services/api/auth/permissions.js';
import { adminKeyFile } from '../../shared/config.js';
import { hashKey, newApiKey, type ApiKeyView } from '../../shared/protocol/api-key.js';
import type { Call } from '../../shared/protocol/domain.js';
import { makeBundle } from '../helpers/bundles.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { spawnDaemon } from '../helpers/daemon.js';
import { startDb } from '../helpers/db.js';
import { startSupervisedCluster } from '../helpers/supervised-cluster.js';
import { http, upload } from '../helpers/http.js';
import { servedRoutes } from '../helpers/served-routes.js';
import { makeTempDir, waitUntil } from '../helpers/temp.js';

/** Every node id here starts with `au-`, so nothing here can be taken for another test's node. */
const nodeId = (what: string): string => `au-${what}-${Math.random().toString(36).slice(2, 8)}`;

type RoleName = 'admin' | 'developer' | 'invoker' | 'reader';
const ROLES: RoleName[] = ['admin', 'developer', 'invoker', 'reader'];
const fakeRuntime = { name: 'au-rt', image: 'ferry-test/never-built', path: '/ws', run: 'sh main.sh', protocol: 'exec' };
const code = { 'main.sh': 'cat\n' };

const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });
const basic = (user: string, key: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${user}:${key}`).toString('base64')}` });
const NO_KEY = { authorization: '' };

async function makeKey(c: Cluster, body: Record<string, unknown>): Promise<ApiKeyView & { key: string }> {
  const r = await http<ApiKeyView & { key: string }>('POST', `${c.url}/v1/keys`, body);
  expect(r.status, r.text).toBe(201);
  return r.body;
}

describe('API keys and roles (real cluster, auth on)', () => {
  let c: Cluster;
  const keys = {} as Record<RoleName, ApiKeyView & { key: string }>;

  beforeAll(async () => {
    c = await startCluster();
    await c.startWorker(nodeId('fake'), { FERRY_DRIVER: 'fake' });
    expect((await http('POST', `${c.url}/v1/runtimes`, fakeRuntime)).status).toBe(201);
    const b = await makeBundle(c.dir, 'echo', code);
    expect((await upload(`${c.url}/v1/functions/echo`, b.file, { runtime: fakeRuntime.name })).status).toBe(201);
    for (const role of ROLES) keys[role] = await makeKey(c, { role, name: `${role} of the test` });
  });
  afterAll(async () => c?.close());

  it('writes the first admin key to admin.key, mode 0600, and logs where, never the key itself', async () => {
    const file = adminKeyFile(c.dir);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const key = (await readFile(file, 'utf8')).trim();
    expect(key).toMatch(/^fry_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    expect(c.adminKey).toBe(key);
    const made = c.api.logs.filter((l) => l['msg'] === 'first admin key made and kept in the file named here, readable by its owner alone');
    expect(made).toHaveLength(1);
    expect(made[0]).toMatchObject({ file });
    expect(c.api.logs.filter((l) => JSON.stringify(l).includes(key))).toEqual([]);
    const who = await http('GET', `${c.url}/v1/whoami`, undefined, bearer(key));
    expect(who.body).toMatchObject({ role: 'admin', name: 'first admin key', auth: 'on' });
  });

  it('answers 401 UNAUTHENTICATED with WWW-Authenticate for no key, a bad key, an unknown key and a wrong secret', async () => {
    const [id] = [keys.reader.keyId];
    const unknown = newApiKey().key;
    const wrongSecret = `fry_${id}_${'A'.repeat(43)}`;
    for (const headers of [NO_KEY, bearer('not-a-key'), bearer(unknown), bearer(wrongSecret), basic('', ''), { authorization: 'Token abc' }]) {
      const r = await http<{ error: { code: string; message: string } }>('GET', `${c.url}/v1/calls`, undefined, headers);
      expect({ headers, status: r.status, code: r.body.error?.code }).toEqual({ headers, status: 401, code: 'UNAUTHENTICATED' });
      expect(r.headers.get('www-authenticate')).toBe('Bearer realm="ferry", Basic realm="ferry"');
    }
    // The fast invoke route and the original API answer the same.
    expect((await http('POST', `${c.url}/v1/functions/echo/invoke`, {}, NO_KEY)).status).toBe(401);
    expect((await http('POST', `${c.url}/invokeFunction`, { funcName: 'echo' }, NO_KEY)).status).toBe(401);
    expect((await http('GET', `${c.url}/call/1`, undefined, NO_KEY)).status).toBe(401);
    // An upload is refused before its body is read.
    const b = await makeBundle(c.dir, 'refused', code);
    expect((await upload(`${c.url}/v1/functions/refused?runtime=${fakeRuntime.name}`, b.file, {}, NO_KEY)).status).toBe(401);
  });

  it('takes a key as a Bearer token and as the password of HTTP Basic, any user name', async () => {
    const key = keys.invoker.key;
    for (const headers of [bearer(key), basic('', key), basic('someone', key), basic(key, '')]) {
      const r = await http<{ keyId: string; role: string }>('GET', `${c.url}/v1/whoami`, undefined, headers);
      expect({ headers, status: r.status, body: r.body }).toEqual({ headers, status: 200, body: { keyId: keys.invoker.keyId, name: 'invoker of the test', role: 'invoker', auth: 'on' } });
    }
  });

  it('keeps /healthz and /v1/openapi.json open to anyone', async () => {
    expect((await http('GET', `${c.url}/healthz`, undefined, NO_KEY)).status).toBe(200);
    const doc = await http<{ components: { securitySchemes: Record<string, unknown> } }>('GET', `${c.url}/v1/openapi.json`, undefined, NO_KEY);
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.components.securitySchemes).sort()).toEqual(['basic', 'bearer']);
  });

  it('allows each role what its row of the table says and answers 403 FORBIDDEN for the rest', async () => {
    const bundle = await makeBundle(c.dir, 'pushed', code);
    const { body: held } = await http<{ id: string }>('POST', `${c.url}/v1/functions/echo/invoke?hold=true`, {});
    // [what, who may, the request]; "may" means anything but 401 and 403 (a 404 or 409 is the route's own answer).
    const table: [string, RoleName[], (headers: Record<string, string>) => Promise<{ status: number }>][] = [
      ['GET /v1/runtimes', ROLES, (h) => http('GET', `${c.url}/v1/runtimes`, undefined, h)],
      ['POST /v1/runtimes', ['admin'], (h) => http('POST', `${c.url}/v1/runtimes`, { ...fakeRuntime, name: 'au-rt2' }, h)],
      ['DELETE /v1/runtimes/{name}', ['admin'], (h) => http('DELETE', `${c.url}/v1/runtimes/au-none`, undefined, h)],
      ['POST /registerRuntime', ['admin'], (h) => http('POST', `${c.url}/registerRuntime`, { image: 'au-img', run: 'true' }, h)],
      ['POST /v1/functions/{name}', ['admin', 'developer'], (h) => upload(`${c.url}/v1/functions/pushed`, bundle.file, { runtime: fakeRuntime.name }, h)],
      ['POST /registerFunction/{runtime}/{name}', ['admin', 'developer'], (h) => upload(`${c.url}/registerFunction/${fakeRuntime.name}/pushed`, bundle.file, {}, h)],
      ['DELETE /v1/functions/{name}', ['admin', 'developer'], (h) => http('DELETE', `${c.url}/v1/functions/au-none`, undefined, h)],
      ['POST /v1/functions/{name}/invoke', ['admin', 'developer', 'invoker'], (h) => http('POST', `${c.url}/v1/functions/echo/invoke`, {}, h)],
      ['POST /invokeFunction', ['admin', 'developer', 'invoker'], (h) => http('POST', `${c.url}/invokeFunction`, { funcName: 'echo', params: {} }, h)],
      ['POST /v1/calls/{id}/dispatch', ['admin', 'developer', 'invoker'], (h) => http('POST', `${c.url}/v1/calls/${held.id}/dispatch`, undefined, h)],
      ['POST /v1/calls/{id}/cancel', ['admin', 'developer', 'invoker'], (h) => http('POST', `${c.url}/v1/calls/${held.id}/cancel`, undefined, h)],
      ['POST /v1/functions/{name}/runs', ['admin', 'developer', 'invoker'], (h) => http('POST', `${c.url}/v1/functions/echo/runs`, { times: 1 }, h)],
      ['POST /v1/sessions', ['admin', 'developer', 'invoker'], (h) => http('POST', `${c.url}/v1/sessions`, undefined, h)],
      ['GET /runtimes', ROLES, (h) => http('GET', `${c.url}/runtimes`, undefined, h)],
      ['GET /functions', ROLES, (h) => http('GET', `${c.url}/functions`, undefined, h)],
      ['GET /calls', ROLES, (h) => http('GET', `${c.url}/calls`, undefined, h)],
      ['GET /call/{callNum}', ROLES, (h) => http('GET', `${c.url}/call/1`, undefined, h)],
      ['GET /v1/calls', ROLES, (h) => http('GET', `${c.url}/v1/calls`, undefined, h)],
      ['GET /v1/nodes', ROLES, (h) => http('GET', `${c.url}/v1/nodes`, undefined, h)],
      ['GET /v1/stats', ROLES, (h) => http('GET', `${c.url}/v1/stats`, undefined, h)],
      ['GET /v1/whoami', ROLES, (h) => http('GET', `${c.url}/v1/whoami`, undefined, h)],
      ['GET /v1/keys', ['admin'], (h) => http('GET', `${c.url}/v1/keys`, undefined, h)],
      ['POST /v1/keys', ['admin'], (h) => http('POST', `${c.url}/v1/keys`, { role: 'reader' }, h)],
      ['DELETE /v1/keys/{id}', ['admin'], (h) => http('DELETE', `${c.url}/v1/keys/000000000000`, undefined, h)],
      // Not in the table of routes: an admin key, or nothing (here a 404 for the admin).
      ['GET /v1/no-such-route', ['admin'], (h) => http('GET', `${c.url}/v1/no-such-route`, undefined, h)],
    ];
    for (const [route, may, request] of table) {
      for (const role of ROLES) {
        const { status } = await request(bearer(keys[role].key));
        const got = status === 403 ? 'refused' : status === 401 ? 'unauthenticated' : 'allowed';
        expect({ route, role, got }).toEqual({ route, role, got: may.includes(role) ? 'allowed' : 'refused' });
      }
    }
    const refused = await http<{ error: { code: string; message: string } }>('POST', `${c.url}/v1/functions/echo/invoke`, {}, bearer(keys.reader.key));
    expect(refused.body.error).toEqual({ code: 'FORBIDDEN', message: `API key ${keys.reader.keyId} has role reader: this route needs the "invoke" permission` });
  });

  it('lists keys without their secrets or hashes', async () => {
    const list = await http<{ keys: ApiKeyView[] }>('GET', `${c.url}/v1/keys`);
    expect(list.status).toBe(200);
    expect(list.body.keys.map((k) => k.keyId)).toEqual(expect.arrayContaining(ROLES.map((r) => keys[r].keyId)));
    for (const secret of [c.adminKey!, ...ROLES.map((r) => keys[r].key)]) {
      expect(list.text).not.toContain(secret);
      expect(list.text).not.toContain(hashKey(secret));
    }
    expect(list.text).not.toContain('"hash"');
    expect(list.body.keys.find((k) => k.keyId === keys.reader.keyId)).toEqual({
      keyId: keys.reader.keyId,
      name: 'reader of the test',
      role: 'reader',
      createdAt: keys.reader.createdAt,
      expiresAt: null,
      revokedAt: null,
      createdBy: c.adminKey!.split('_')[1],
    });
  });

  it('records the key that invoked a call, and for a run or session the key that made it', async () => {
    const inv = bearer(keys.invoker.key);
    const sync = await http<Call>('POST', `${c.url}/v1/functions/echo/invoke?wait=true`, { n: 1 }, inv);
    expect(sync.body).toMatchObject({ status: 'DONE', invokedBy: keys.invoker.keyId });
    const legacy = await http<{ id: string }>('POST', `${c.url}/invokeFunction`, { funcName: 'echo' }, bearer(keys.developer.key));
    expect((await http<Call>('GET', `${c.url}/v1/calls/${legacy.body.id}`)).body.invokedBy).toBe(keys.developer.keyId);

    const run = await http<{ id: string }>('POST', `${c.url}/v1/functions/echo/runs`, { times: 2 }, inv);
    const details = await http<{ details: { callId: string }[] }>('GET', `${c.url}/v1/runs/${run.body.id}/details`);
    expect(details.body.details).toHaveLength(2);
    for (const d of details.body.details) expect((await http<Call>('GET', `${c.url}/v1/calls/${d.callId}`)).body.invokedBy).toBe(keys.invoker.keyId);

    // A session's calls carry the key that made the session, whoever appends them.
    const session = await http<{ id: string }>('POST', `${c.url}/v1/sessions`, undefined, inv);
    const appended = await http<{ ids: string[] }>('POST', `${c.url}/v1/sessions/${session.body.id}/calls`, [{ function: 'echo' }], bearer(keys.developer.key));
    expect((await http<Call>('GET', `${c.url}/v1/calls/${appended.body.ids[0]}`)).body.invokedBy).toBe(keys.invoker.keyId);
  });

  it('refuses a revoked key on the next request and an expired key once its time is up', async () => {
    const short = await makeKey(c, { role: 'reader', expiresInSecs: 1 });
    expect((await http('GET', `${c.url}/v1/whoami`, undefined, bearer(short.key))).status).toBe(200);

    const doomed = await makeKey(c, { role: 'invoker', name: 'doomed' });
    expect((await http('GET', `${c.url}/v1/calls`, undefined, bearer(doomed.key))).status).toBe(200);
    const revoked = await http<ApiKeyView>('DELETE', `${c.url}/v1/keys/${doomed.keyId}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).toEqual(expect.any(Number));
    const after = await http<{ error: { code: string; message: string } }>('GET', `${c.url}/v1/calls`, undefined, bearer(doomed.key));
    expect(after.status).toBe(401);
    expect(after.body.error).toEqual({ code: 'UNAUTHENTICATED', message: `API key ${doomed.keyId} was revoked` });
    expect((await http('POST', `${c.url}/v1/functions/echo/invoke`, {}, bearer(doomed.key))).status).toBe(401);
    expect((await http('DELETE', `${c.url}/v1/keys/000000000000`)).status).toBe(404);

    await waitUntil(async () => (await http('GET', `${c.url}/v1/whoami`, undefined, bearer(short.key))).status === 401, 'the key of one second has expired');
    const expired = await http<{ error: { message: string } }>('GET', `${c.url}/v1/whoami`, undefined, bearer(short.key));
    expect(expired.body.error.message).toBe(`API key ${short.keyId} expired`);
  });

  it('checks what a new key is given', async () => {
    for (const body of [{}, { role: 'root' }, { role: 'reader', expiresInSecs: 0 }, { role: 'reader', expiresAt: Date.now() - 1000 }, { role: 'reader', expiresInSecs: 5, expiresAt: Date.now() + 5000 }, { role: 'reader', extra: 1 }]) {
      const r = await http<{ error: { code: string } }>('POST', `${c.url}/v1/keys`, body);
      expect({ body, status: r.status, code: r.body.error?.code }).toEqual({ body, status: 400, code: 'BAD_REQUEST' });
    }
    const dated = await makeKey(c, { role: 'reader', expiresAt: '2999-01-01T00:00:00Z' });
    expect(dated.expiresAt).toBe(Date.parse('2999-01-01T00:00:00Z'));
  });
});

describe('a key revoked through one api', () => {
  it('stops working on every other api sharing the store, and a second api makes no second admin key', async () => {
    const c = await startCluster();
    try {
      const other = await spawnDaemon('api', { ...c.env, FERRY_HTTP_PORT: '0', FERRY_WORKERS_BIND: 'tcp://127.0.0.1:*' });
      try {
        const otherUrl = String(other.ready['url']);
        expect(other.logs.some((l) => String(l['msg']).startsWith('first admin key made'))).toBe(false);
        expect((await readFile(adminKeyFile(c.dir), 'utf8')).trim()).toBe(c.adminKey);
        const k = await makeKey(c, { role: 'reader' });
        expect((await http('GET', `${otherUrl}/v1/calls`, undefined, bearer(k.key))).status).toBe(200);
        expect((await http('DELETE', `${c.url}/v1/keys/${k.keyId}`)).status).toBe(200);
        await waitUntil(async () => (await http('GET', `${otherUrl}/v1/calls`, undefined, bearer(k.key))).status === 401, 'the other api refuses the revoked key');
      } finally {
        await other.kill();
      }
    } finally {
      await c.close();
    }
  });
});

describe('FERRY_AUTH=off', () => {
  it('serves every route without a key and says so loudly at start', async () => {
    const c = await startCluster({ apiEnv: { FERRY_AUTH: 'off' } });
    try {
      expect(c.adminKey).toBeNull();
      const warning = c.api.logs.find((l) => String(l['msg']).startsWith('authentication is OFF'));
      expect(warning).toMatchObject({ level: 40, FERRY_AUTH: 'off' });
      expect((await http('POST', `${c.url}/v1/runtimes`, fakeRuntime, NO_KEY)).status).toBe(201);
      expect((await http('GET', `${c.url}/calls`, undefined, NO_KEY)).status).toBe(200);
      expect((await http('POST', `${c.url}/v1/functions/none/invoke`, {}, NO_KEY)).status).toBe(404);
      expect((await http('GET', `${c.url}/v1/whoami`, undefined, NO_KEY)).body).toEqual({ keyId: null, name: null, role: null, auth: 'off' });
      // Said at every start, not only the first.
      await c.restart('api');
      expect(c.api.logs.some((l) => String(l['msg']).startsWith('authentication is OFF'))).toBe(true);
    } finally {
      await c.close();
    }
  });
});

describe('the first admin key', () => {
  it('is stored once when two apis ask at the same moment', async () => {
    const { dir, cleanup } = await makeTempDir('ferry-au-db-');
    const store = await startDb(dir);
    try {
      const asks = Array.from({ length: 8 }, () => {
        const k = newApiKey();
        return store.db.call('bootstrapAdminKey', { keyId: k.keyId, hash: k.hash, name: 'first admin key' });
      });
      const made = (await Promise.all(asks)).filter((r) => r.key !== null);
      expect(made).toHaveLength(1);
      expect(await store.db.call('listApiKeys', {})).toEqual([made[0]!.key]);
    } finally {
      await store.stop();
      await cleanup();
    }
  });
});

describe('the table of route permissions', () => {
  it('names every route the api serves, and no other', () => {
    const { v1, legacy } = servedRoutes();
    expect(Object.keys(routeNeeds).sort()).toEqual([...v1, ...legacy].sort());
  });
});

describe('npm start', () => {
  it('shows the first admin key in its banner the one time it is made, with curls that send a key', async () => {
    const c = await startSupervisedCluster({ FERRY_DRIVER: 'fake', FERRY_NODE_ID: nodeId('sup') });
    try {
      await waitUntil(() => c.stderr().includes('Press Ctrl-C to stop.'), 'the banner is printed');
      const key = (await readFile(adminKeyFile(c.dir), 'utf8')).trim();
      const banner = c.stderr();
      expect(banner).toContain(`First admin key, made now and shown this once (kept in ${adminKeyFile(c.dir)}, mode 0600):\n  ${key}\n`);
      expect(banner.split(key)).toHaveLength(2);
      expect(banner).toContain(`export FERRY_TOKEN=$(cat ${adminKeyFile(c.dir)})`);
      expect(banner).toContain(`curl -u ":$FERRY_TOKEN" ${c.url}/call/1`);
      expect((await http('GET', `${c.url}/v1/whoami`)).body).toMatchObject({ role: 'admin' });
    } finally {
      await c.close();
    }
  });
});
