import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's Chromium (`.ci/run` installs it): playwright-core drives it and brings no browser of its own. */
export const CHROMIUM = '/usr/bin/chromium';

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}

/**
 * A folder for a test file's screenshots, kept after the run for a person to look at (named on
 * the test's output); its pictures are not checked by the test.
 */
export async function screenshotDir(name: string): Promise<(page: Page, shot: string) => Promise<void>> {
  const dir = path.join(os.tmpdir(), `ferry-ui-${name}-${process.pid}`);
  await mkdir(dir, { recursive: true });
  console.log(`screenshots of ${name}: ${dir}`);
  return async (page, shot) => {
    await page.screenshot({ path: path.join(dir, `${shot}.png`), fullPage: true });
  };
}

/** Opens the dashboard of the api at `url` and logs in with `key`; resolves once the page shows the key's role. */
export async function logIn(page: Page, url: string, key: string): Promise<void> {
  await page.goto(`${url}/ui/`);
  await page.locator('#api-key').fill(key);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByTestId('role').waitFor();
}
