import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, signInToAdmin } from '../support/browser';
import { call, key, pipeline, root, type Pipeline } from '../support/pipeline';

// `npm run demo -- --story` (tools/demo/story.mjs) on a private pipeline: the go-live story of
// docs/ARCHITECTURE.md §11, told through the public HTTP APIs, watched on the admin page in
// headless Chromium while it is told, and what the ledger shows after it.

type App = Awaited<ReturnType<Pipeline['start']>>;

const SHOTS = join(root, 'test-output', 'screenshots');
const flat = (text: string) => text.replace(/\s+/g, ' ').trim();

function story(handler: App, ledger: App): Promise<string> {
  return new Promise((resolvePromise, reject) =>
    execFile(
      process.execPath,
      [join(root, 'tools', 'demo', 'demo.mjs'), '--story', '--handler', handler.url, '--ledger', ledger.url, '--stack', '/nonexistent'],
      { timeout: 120_000 },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stdout}\n${stderr}`)) : resolvePromise(stdout)),
    ),
  );
}

describe('the go-live story (npm run demo -- --story)', () => {
  let p: Pipeline;
  let handler: App;
  let ledger: App;
  let output: string;
  let browser: Browser;
  let page: Page;
  /** When the page first showed the rule-violation toast (this machine's clock, like the reducer's). */
  let toastSeenAt: number;
  const browserErrors: string[] = [];

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    p = await pipeline('story');
    await p.start('shipment-reducer');
    handler = await p.start('shipment-handler', { OUTCOME_WAIT_MS: '10000' });
    ledger = await p.start('ledger', { SHIPMENT_HANDLER_URL: handler.url });

    // A supervisor has the page open on the shipment list while the old system's feed comes in.
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    page.on('pageerror', (err) => browserErrors.push(String(err)));
    await signInToAdmin(page, ledger.url, key('supervisor'));
    await page.goto(`${ledger.url}/admin/#/shipments`);
    const toast = page
      .waitForFunction(() => document.querySelector('[data-testid="alert-toast"]')?.textContent?.includes('Walter Chin'), undefined, { timeout: 60_000, polling: 'raf' })
      .then(() => (toastSeenAt = Date.now()));
    output = await story(handler, ledger);
    await toast;
  });
  afterAll(async () => {
    await browser?.close();
    await p?.close();
  });

  it('tells the story step by step and says where to look', () => {
    expect(output).toContain('The go-live story, on shipment 1345693');
    expect(output).toMatch(/15:22 {2}Jonas Berg +packed it/);
    expect(output).toMatch(/19:05 {2}Walter Chin +moved it to PendingPicking in the old system → v8 {2}⚠ Packed → PendingPicking: recorded and flagged/);
    expect(output).toMatch(/StatusCorrected PendingPicking → Packed, with a reason → v9/);
    expect(output).toContain(`${ledger.url}/admin/#/shipments/1345693`);
    expect(output).toContain(`${ledger.url}/admin/#/alerts`);
  });

  it('showed the alert on the ledger’s API within a second of the feed being answered', () => {
    const latency = Number(/showed the alert (\d+) ms after the feed was answered/.exec(output)?.[1]);
    expect(latency).toBeLessThan(1000);
  });

  it('leaves the ledger with every fact in its sequence, one trace, the violation flagged and the status compensated', async () => {
    const shipment = await call(ledger, 'GET', '/shipments/1345693', { role: 'viewer' });
    expect(shipment.body).toMatchObject({ version: 9, status: 'Packed', lastEvent: { type: 'StatusCorrected' } });
    const events = (await call(ledger, 'GET', '/shipments/1345693/events?limit=50', { role: 'viewer' })).body.items as Array<Record<string, unknown>>;
    expect(events.map((e) => e.type)).toEqual(['ShipmentCreated', 'StatusObserved', 'ItemPicked', 'ItemPicked', 'ItemPicked', 'StatusObserved', 'ShipmentPacked', 'StatusObserved', 'StatusCorrected']);
    const traces = new Set(events.slice(0, 8).map((e) => e.traceId));
    expect(traces.size).toBe(1);
    expect(events[7]).toMatchObject({ initiatedBy: 'legacy-wms-feed', observation: { observedBy: 'Walter Chin', source: 'legacy-wms', violation: { transition: 'Packed → PendingPicking', fromStatus: 'Packed' } } });
  });

  it('showed the alert on the open page within a second of the reducer recording the forbidden move, naming who, what and where', async () => {
    const alerts = (await call(ledger, 'GET', '/alerts', { role: 'viewer' })).body.items as Array<{ shipmentId: string; kind: string; recordedAt: string }>;
    const alert = alerts.find((a) => a.shipmentId === '1345693' && a.kind === 'rule-violation');
    expect(alert).toBeDefined();
    expect(toastSeenAt - Date.parse(alert?.recordedAt ?? '')).toBeLessThan(1000);
    const toast = flat(await page.getByTestId('alert-toast').innerText());
    expect(toast).toContain('Rule violation: Walter Chin (in legacy-wms, reported by legacy-wms-feed) did Packed → PendingPicking on shipment 1345693');
  });

  it('shows each step on the shipment page: the violation row with its rule, its previous event and who, then the correction with its reason', async () => {
    await page.goto(`${ledger.url}/admin/#/shipments/1345693`);
    const history = page.getByTestId('history');
    await history.locator('li[data-version="9"]').waitFor();
    expect(await history.locator('li[data-version]').count()).toBe(9);
    const violation = history.getByTestId('violation-row');
    expect(await violation.count()).toBe(1);
    expect(await violation.getAttribute('data-version')).toBe('8');
    expect(await violation.getByTestId('violation-badge').innerText()).toContain('Rule violation');
    expect(flat(await violation.getByTestId('violation-rule').innerText())).toMatch(/Packed → PendingPicking[\s\S]*no transition from Packed to PendingPicking|no transition from Packed to PendingPicking[\s\S]*Packed → PendingPicking/);
    // The event before it: packed at 15:22 in the old system, by whom.
    expect(flat(await violation.getByTestId('violation-previous').innerText())).toMatch(/v7 .*Jonas Berg.* 15:22/);
    expect(flat(await violation.getByTestId('observed-by').innerText())).toMatch(/Walter Chin in legacy-wms · reported by legacy-wms-feed/);
    const correction = flat(await history.locator('li[data-version="9"]').innerText());
    expect(correction).toContain('sue.supervisor');
    expect(correction).toContain('Walter Chin moved it back in the old system by mistake');
    await page.screenshot({ path: join(SHOTS, 'story-shipment.png'), fullPage: true });
  });

  it('keeps the running status counts right: the story’s order counts as Packed again', async () => {
    await page.goto(`${ledger.url}/admin/#/shipments`);
    await page.locator('nav.counts').waitFor();
    // A status without shipments may have no count at all.
    const countOf = async (status: string) => {
      const strong = page.locator(`nav.counts a.count.s-${status} strong`);
      return (await strong.count()) === 0 ? 0 : Number(await strong.innerText());
    };
    expect(await countOf('packed')).toBe(1);
    expect(await countOf('released')).toBe(0);
    await page.screenshot({ path: join(SHOTS, 'story-counts.png'), fullPage: true });
  });

  it('lists the violation on the alerts page as a rule violation', async () => {
    await page.goto(`${ledger.url}/admin/#/alerts`);
    const item = page.locator('.alert-item[data-kind="rule-violation"]').first();
    await item.waitFor();
    expect(flat(await item.getByTestId('alert-violation').innerText())).toMatch(/Walter Chin[\s\S]*legacy-wms[\s\S]*Packed → PendingPicking/);
  });

  it('raised no script errors in the browser', () => {
    expect(browserErrors).toEqual([]);
  });

  it('plays again on the next free id instead of failing on the first run’s facts', async () => {
    const again = await story(handler, ledger);
    expect(again).toContain('The go-live story, on shipment 1345693-2');
  });
});
