import { chromium, type Browser, type Page } from 'playwright-core';

// What every browser test of the ledger's pages shares: how headless Chromium is started here, and
// how a page signs in on /admin.

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Debian's chromium (installed by `npm test`), headless. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

/** Signs `page` in on the ledger's /admin with `apiKey` and waits until the page says who it is. */
export async function signInToAdmin(page: Page, ledgerUrl: string, apiKey: string): Promise<void> {
  await page.goto(`${ledgerUrl}/admin/`);
  await page.getByLabel('API key').fill(apiKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('whoami').waitFor();
}

/**
 * Collects into `errors` what a page must never show: script errors, and console errors other
 * than the HTTP refusals (401, 403, 404, 422) the page is tested into on purpose.
 */
export function collectBrowserErrors(page: Page, errors: string[]): void {
  page.on('pageerror', (err) => errors.push(String(err)));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/status of (401|403|404|422)/.test(msg.text())) errors.push(msg.text());
  });
}
