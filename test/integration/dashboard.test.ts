import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, logIn, screenshotDir } from '../helpers/browser.js';
import { makeBundle } from '../helpers/bundles.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { fixture } from '../helpers/fixtures.js';
import { http, upload } from '../helpers/http.js';
import { waitUntil } from '../helpers/temp.js';

const agentRuntime = { name: 'py-agent', image: 'pythonruntime', path: '/ws', run: 'main.py', protocol: 'agent' };
/** Calls on the Docker node start a container first: waits on them are longer than the default. */
const CALL_MS = 60_000;

/** Buttons that change something: none may show to a reader. */
const CHANGING = /^(cancel|kill|start|re-run|retry|dispatch|push|invoke|delete|revoke|register|make key|next result page|re-run selected.*|re-run all.*)$/i;

// The dashboard in a real browser (Debian's Chromium) against a real cluster with a Docker node.
describe('the dashboard at /ui', () => {
  let c: Cluster;
  let browser: Browser;
  let admin: BrowserContext;
  let page: Page;
  let shot: (page: Page, name: string) => Promise<void>;

  const invoke = async (fn: string, params: unknown): Promise<string> => {
    const r = await http<{ id: string }>('POST', `${c.url}/v1/functions/${fn}/invoke`, params);
    expect(r.status).toBe(202);
    return r.body.id;
  };
  const callRow = (p: Page, id: string, status?: string) => p.locator(`tr[data-call-id="${id}"]${status ? `[data-status="${status}"]` : ''}`);
  const callStatus = (p: Page, status: string) => p.locator(`[data-testid="call-status"] .badge`, { hasText: new RegExp(`^${status}$`) });

  beforeAll(async () => {
    c = await startCluster({ workers: ['du-1'] });
    expect((await http('POST', `${c.url}/v1/runtimes`, agentRuntime)).status).toBe(201);
    const slow = await makeBundle(c.dir, 'du-slow', await fixture('slow'));
    expect((await upload(`${c.url}/v1/functions/du-slow`, slow.file, { runtime: 'py-agent' })).status).toBe(201);
    browser = await launchBrowser();
    admin = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    page = await admin.newPage();
    // Kills, cancels and revokes ask first; the test says yes.
    page.on('dialog', (d) => void d.accept());
    shot = await screenshotDir('dashboard');
  });
  afterAll(async () => {
    await browser?.close();
    await c?.close();
  });

  it('serves the page to anyone, with caching headers, and every path below /ui as the page', async () => {
    const index = await http('GET', `${c.url}/ui/`, undefined, { authorization: '' });
    expect(index.status).toBe(200);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const asset = /\/ui\/assets\/[^"]+\.js/.exec(index.text)?.[0];
    expect(asset).toBeDefined();
    const js = await http('GET', `${c.url}${asset}`, undefined, { authorization: '' });
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toContain('immutable');
    const deep = await http('GET', `${c.url}/ui/calls/somecall`, undefined, { authorization: '' });
    expect(deep.text).toBe(index.text);
    expect((await http('GET', `${c.url}/ui/assets/none.js`, undefined, { authorization: '' })).status).toBe(404);
    // The data stays behind the key.
    expect((await http('GET', `${c.url}/v1/calls`, undefined, { authorization: '' })).status).toBe(401);
  });

  it('logs in with the admin key and shows the overview', async () => {
    await page.goto(`${c.url}/ui/`);
    await page.locator('#api-key').fill('fry_notakey_000');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not valid' }).waitFor();
    await logIn(page, c.url, c.adminKey!);
    expect(await page.getByTestId('role').textContent()).toContain('admin');
    await page.getByTestId('tiles').waitFor();
    await shot(page, 'overview');
  });

  it('pushes a function through the upload form', async () => {
    const bundle = await makeBundle(c.dir, 'du-progress', await fixture('progress'));
    await page.getByRole('link', { name: 'Functions', exact: true }).click();
    await page.locator('#push-name').fill('du-progress');
    await page.locator('#push-runtime').selectOption('py-agent');
    await page.locator('#push-module').setInputFiles(bundle.file);
    await page.getByRole('button', { name: 'Push' }).click();
    // A push lands on the function's page, its first version listed.
    await page.getByTestId('versions-table').getByRole('cell', { name: 'v1', exact: true }).waitFor();
    expect((await http<{ version: number }>('GET', `${c.url}/v1/functions/du-progress`)).body.version).toBe(1);
    await shot(page, 'function');
  });

  it('shows a call invoked elsewhere appear and finish in the calls list without a reload', async () => {
    await page.getByRole('link', { name: 'Calls', exact: true }).click();
    await page.locator('[data-testid="live"][data-state="live"]').waitFor();
    // A mark on the document: still there at the end, the page was never reloaded.
    await page.evaluate('window.sameDocument = true');
    const id = await invoke('du-progress', { seconds: 1 });
    await callRow(page, id).waitFor();
    await callRow(page, id, 'DONE').waitFor({ timeout: CALL_MS });
    expect(await page.evaluate('window.sameDocument')).toBe(true);
    await shot(page, 'calls');
  });

  it('invokes from a function page and watches the call progress live', async () => {
    await page.goto(`${c.url}/ui/functions/du-progress`);
    await page.locator('#invoke-params').fill('{"seconds": 6}');
    await page.getByRole('button', { name: 'Invoke' }).click();
    await page.waitForURL(/\/ui\/calls\/[A-Za-z0-9_-]+$/);
    const bar = page.getByRole('progressbar', { name: 'progress' });
    // The bar moves: first part-way, then full, with the page never reloaded.
    await page.locator('[role=progressbar]:not([aria-valuenow="0"]):not([aria-valuenow="100"])').waitFor({ timeout: CALL_MS });
    const partWay = Number(await bar.getAttribute('aria-valuenow'));
    await page.getByTestId('metrics').waitFor();
    await shot(page, 'call-running');
    await callStatus(page, 'DONE').waitFor({ timeout: CALL_MS });
    expect(Number(await bar.getAttribute('aria-valuenow'))).toBeGreaterThan(partWay);
    expect(await bar.getAttribute('aria-valuenow')).toBe('100');
    await page.getByTestId('timeline').getByText('#1 on du-1').waitFor();
    await page.getByTestId('log').getByText('step 60').waitFor();
    await shot(page, 'call-done');
  });

  it('cancels a long call from its page: it ends KILLED', async () => {
    const id = await invoke('du-slow', { seconds: 120 });
    await page.goto(`${c.url}/ui/calls/${id}`);
    await callStatus(page, 'RUNNING').waitFor({ timeout: CALL_MS });
    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    await callStatus(page, 'KILLED').waitFor({ timeout: CALL_MS });
    expect((await http<{ status: string }>('GET', `${c.url}/v1/calls/${id}`)).body.status).toBe('KILLED');
    // An ended call offers to run again, and no more to cancel.
    await page.getByRole('button', { name: 'Re-run' }).waitFor();
    expect(await page.getByRole('button', { name: 'Cancel', exact: true }).count()).toBe(0);
    await shot(page, 'call-killed');
  });

  it('kills a session from its page', async () => {
    const session = (await http<{ id: string }>('POST', `${c.url}/v1/sessions`)).body.id;
    const added = await http<{ ids: string[] }>('POST', `${c.url}/v1/sessions/${session}/calls`, [
      { function: 'du-slow', params: { seconds: 120 } },
      { function: 'du-slow', params: { seconds: 120 } },
    ]);
    expect(added.status).toBe(201);
    expect((await http('POST', `${c.url}/v1/sessions/${session}/start`)).status).toBe(200);
    await page.goto(`${c.url}/ui/sessions/${session}`);
    await page.getByTestId('session-state').getByText('started').waitFor();
    await callRow(page, added.body.ids[0]!).waitFor();
    await page.getByRole('button', { name: 'Kill' }).click();
    await page.getByTestId('session-state').getByText('killed').waitFor({ timeout: CALL_MS });
    // The session's calls end on the page too, from the events stream.
    for (const callId of added.body.ids) await page.locator(`tr[data-call-id="${callId}"]:is([data-status="KILLED"], [data-status="CANCELLED"])`).waitFor({ timeout: CALL_MS });
    await shot(page, 'session-killed');
  });

  it('filters the calls list and opens a call by its callNum', async () => {
    await page.goto(`${c.url}/ui/calls`);
    await page.getByLabel('status').selectOption('KILLED');
    await page.waitForURL(/status=KILLED/);
    const rows = page.locator('[data-testid="calls-table"] tbody tr');
    await rows.first().waitFor();
    expect(new Set(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-status'))))).toEqual(new Set(['KILLED']));
    const killed = (await http<{ calls: { id: string; callNum: number }[] }>('GET', `${c.url}/v1/calls?status=KILLED&limit=1`)).body.calls[0]!;
    await page.getByLabel('search').fill(String(killed.callNum));
    await page.getByRole('button', { name: 'search' }).click();
    await page.waitForURL(new RegExp(`/ui/calls/${killed.id}$`));
    await callStatus(page, 'KILLED').waitFor();
  });

  it('follows a run and a batch job to their ends on their pages', async () => {
    for (const [name, dir] of [['du-sum-range', 'sum-range'], ['du-sum-results', 'sum-results']] as const) {
      const b = await makeBundle(c.dir, name, await fixture(dir));
      expect((await upload(`${c.url}/v1/functions/${name}`, b.file, { runtime: 'py-agent' })).status).toBe(201);
    }
    const run = await http<{ id: string }>('POST', `${c.url}/v1/functions/du-progress/runs`, { times: 3, params: { seconds: 1 } });
    expect(run.status).toBe(201);
    await page.goto(`${c.url}/ui/runs/${run.body.id}`);
    await page.getByTestId('run-status').getByText('COMPLETE').waitFor({ timeout: CALL_MS });
    await page.getByRole('progressbar', { name: '3/3 ended' }).waitFor();
    await shot(page, 'run');
    const batch = await http<{ id: string }>('POST', `${c.url}/v1/batches`, {
      worker: 'du-sum-range',
      combiner: 'du-sum-results',
      startIndex: 0,
      endIndex: 300,
      batchSize: 100,
      maxParallelism: 2,
      timeoutSecs: 120,
    });
    expect(batch.status).toBe(201);
    await page.goto(`${c.url}/ui/batches/${batch.body.id}`);
    await page.getByTestId('batch-state').getByText('done').waitFor({ timeout: CALL_MS });
    await page.getByText('combined result').waitFor();
    await shot(page, 'batch');
  });

  it('runs a selected dead letter again', async () => {
    const failing = await makeBundle(c.dir, 'du-fails', await fixture('always-fails'));
    expect((await upload(`${c.url}/v1/functions/du-fails`, failing.file, { runtime: 'py-agent' })).status).toBe(201);
    await page.getByRole('link', { name: 'Calls', exact: true }).click();
    await page.locator('[data-testid="live"][data-state="live"]').waitFor();
    const id = await invoke('du-fails', {});
    await callRow(page, id, 'ERROR').waitFor({ timeout: CALL_MS });
    await page.getByRole('link', { name: 'Dead letters', exact: true }).click();
    await callRow(page, id).getByRole('checkbox').check();
    await page.getByRole('button', { name: 'Re-run selected (1)' }).click();
    await page.getByRole('status').filter({ hasText: '1 call(s) run again' }).waitFor();
    await shot(page, 'dead-letters-rerun');
    const again = async (): Promise<boolean> => {
      const call = (await http<{ attempt: number; status: string }>('GET', `${c.url}/v1/calls/${id}`)).body;
      return call.attempt === 2 && call.status === 'ERROR';
    };
    await waitUntil(again, `dead letter ${id} ran again and failed again`, CALL_MS);
  });

  it('makes a key and revokes it on the keys page', async () => {
    await page.getByRole('link', { name: 'Keys', exact: true }).click();
    await page.getByLabel('role').selectOption('invoker');
    await page.getByLabel('key name').fill('du-made-here');
    await page.getByRole('button', { name: 'Make key' }).click();
    const key = (await page.getByTestId('new-key').textContent())!;
    expect(key).toMatch(/^fry_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    expect((await http<{ role: string }>('GET', `${c.url}/v1/whoami`, undefined, { authorization: `Bearer ${key}` })).body.role).toBe('invoker');
    const row = page.locator('tr', { hasText: 'du-made-here' });
    await row.getByRole('button', { name: 'Revoke' }).click();
    await row.getByText('revoked').waitFor();
    expect((await http('GET', `${c.url}/v1/whoami`, undefined, { authorization: `Bearer ${key}` })).status).toBe(401);
    await shot(page, 'keys-revoked');
  });

  it('shows the other pages', async () => {
    for (const [link, name, ready] of [
      ['Sessions', 'sessions', 'table'],
      ['Runs', 'runs', 'table'],
      ['Batches', 'batches', 'table'],
      ['Runtimes', 'runtimes', 'table'],
      ['Nodes', 'nodes', '[data-testid="nodes-table"]'],
      ['Dead letters', 'dead-letters', '[data-testid="calls-table"], .empty'],
      ['Keys', 'keys', '[data-testid="keys-table"]'],
      ['Overview', 'overview-after', '[data-testid="tiles"]'],
    ] as const) {
      await page.getByRole('link', { name: link, exact: true }).click();
      await page.locator(ready).first().waitFor();
      await shot(page, name);
    }
  });

  it('shows a reader key no button that changes anything', async () => {
    const made = await http<{ key: string }>('POST', `${c.url}/v1/keys`, { role: 'reader', name: 'du-reader' });
    expect(made.status).toBe(201);
    const killed = (await http<{ calls: { id: string }[] }>('GET', `${c.url}/v1/calls?funcName=du-slow&status=KILLED&limit=1`)).body.calls[0]!.id;
    const running = await invoke('du-slow', { seconds: 120 });
    const session = (await http<{ sessions: { id: string }[] }>('GET', `${c.url}/v1/sessions?limit=1`)).body.sessions[0]!.id;
    const reader = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const p = await reader.newPage();
    await logIn(p, c.url, made.body.key);
    expect(await p.getByTestId('role').textContent()).toContain('reader');
    expect(await p.getByRole('link', { name: 'Keys', exact: true }).count()).toBe(0);
    const pages: [string, string][] = [
      [`/ui/calls/${running}`, '[data-testid="call-status"]'],
      [`/ui/calls/${killed}`, '[data-testid="call-status"]'],
      [`/ui/sessions/${session}`, '[data-testid="session-state"]'],
      ['/ui/functions', '[data-testid="functions-table"]'],
      ['/ui/functions/du-progress', '[data-testid="versions-table"]'],
      ['/ui/runtimes', 'table'],
      ['/ui/dead-letters', '[data-testid="calls-table"], .empty'],
      ['/ui/calls', '[data-testid="calls-table"]'],
    ];
    for (const [path, ready] of pages) {
      await p.goto(`${c.url}${path}`);
      await p.locator(ready).first().waitFor();
      const shown = await p.getByRole('button').allTextContents();
      expect(shown.filter((t) => CHANGING.test(t.trim())), path).toEqual([]);
    }
    await p.goto(`${c.url}/ui/calls/${running}`);
    await callStatus(p, 'RUNNING').waitFor({ timeout: CALL_MS });
    await shot(p, 'reader-call');
    await reader.close();
    expect((await http('POST', `${c.url}/v1/calls/${running}/cancel`)).status).toBe(200);
  });
});
