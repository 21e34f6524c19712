import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_ONLY, needOf, Permission, PUBLIC } from '../../services/api/auth/permissions.js';
import { uiRoutes } from '../../services/api/http/ui-static.js';
import { http } from '../helpers/http.js';
import { makeTempDir } from '../helpers/temp.js';

describe('the dashboard files', () => {
  it('are open to anyone to read, and only to read, under /ui alone', () => {
    for (const url of ['/ui', '/ui/', '/UI/calls/abc', '/ui/assets/index-1.js?x=1']) {
      expect(needOf('GET', url), url).toBe(PUBLIC);
      expect(needOf('HEAD', url), url).toBe(PUBLIC);
    }
    expect(needOf('POST', '/ui/calls')).toBe(ADMIN_ONLY);
    expect(needOf('GET', '/uix')).toBe(ADMIN_ONLY);
    expect(needOf('GET', '/favicon.ico')).toBe(ADMIN_ONLY);
    expect(needOf('GET', '/v1/calls')).toBe(Permission.read);
  });

  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const close of closers) await close();
  });

  it('answer NOT_FOUND with the way to build them when the dashboard is not built', async () => {
    const { dir, cleanup } = await makeTempDir('ferry-ui-empty-');
    closers.push(cleanup);
    const app = express();
    app.use('/ui', uiRoutes(dir));
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const r = await http<{ error: { code: string; message: string } }>('GET', `${url}/ui/calls`);
    expect(r.status).toBe(404);
    expect(r.body.error).toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('npm run build') });
  });
});
