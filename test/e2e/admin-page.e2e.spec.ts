import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, signInToAdmin, collectBrowserErrors } from '../support/browser';
import { archiveShipment, ledgerKeyPrefix } from '@waybill/ledger-projections';
import { call, key, newShipment, pipeline, root, type Pipeline } from '../support/pipeline';

// The admin page (/admin on the ledger) in real headless Chromium, against a private pipeline:
// shipment-reducer, shipment-handler and the ledger on the shared test Kafka, Redis and registry.
// Screenshots of every page go to test-output/screenshots/ (git-ignored).

const SHOTS = join(root, 'test-output', 'screenshots');

type App = Awaited<ReturnType<Pipeline['start']>>;

describe('the ledger admin page', () => {
  let p: Pipeline;
  let handler: App;
  let ledger: App;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const browserErrors: string[] = [];
  const prefix = `A${Date.now().toString(36).toUpperCase()}`;
  const id = (n: string) => `${prefix}-${n}`;

  async function command(shipmentId: string, role: string, type: string, data: object = {}, headers: Record<string, string> = {}) {
    const res = await call(handler, 'POST', `/shipments/${shipmentId}/commands`, { role, body: { type, data }, headers });
    return res;
  }

  async function advance(shipmentId: string, to: 'Packed' | 'Shipped', headers: Record<string, string> = {}) {
    const steps: Array<[string, string, object]> = [
      ['team-lead', 'ReleaseForPicking', {}],
      ['associate', 'PickItem', { sku: 'SKU-A', quantity: 2 }],
      ['associate', 'PickItem', { sku: 'SKU-B', quantity: 1 }],
      ['associate', 'CompletePicking', {}],
      ['associate', 'Pack', { packageCount: 2 }],
    ];
    if (to === 'Shipped') steps.push(['team-lead', 'MarkReadyForShipping', {}], ['associate', 'Ship', { carrier: 'PostNL', trackingNumber: '3SABCD1234' }]);
    for (const [role, type, data] of steps) {
      const res = await command(shipmentId, role, type, data, headers);
      expect([type, res.status, res.body.status]).toEqual([type, 200, 'accepted']);
    }
  }

  /** Waits until the ledger reflects a shipment at a version (the projection is asynchronous). */
  async function ledgerHas(shipmentId: string, version: number) {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const res = await call(ledger, 'GET', `/shipments/${shipmentId}`, { role: 'viewer' });
      if (res.status === 200 && res.body.version >= version) return res.body;
      if (Date.now() > deadline) throw new Error(`ledger never reached ${shipmentId} v${version}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const shot = (name: string, target: Page = page) => target.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  const signIn = (target: Page, apiKey: string) => signInToAdmin(target, ledger.url, apiKey);

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    p = await pipeline('admin-page');
    await p.start('shipment-reducer');
    handler = await p.start('shipment-handler', { OUTCOME_WAIT_MS: '10000' });
    ledger = await p.start('ledger', { SHIPMENT_HANDLER_URL: handler.url });

    // A packed shipment, a shipped one, a two-shipment order sharing one trace, and one whose
    // fields hold markup.
    expect((await call(handler, 'POST', '/shipments', { role: 'associate', body: newShipment(id('1')) })).status).toBe(201);
    await advance(id('1'), 'Packed');
    expect((await call(handler, 'POST', '/shipments', { role: 'associate', body: newShipment(id('2')) })).status).toBe(201);
    await advance(id('2'), 'Shipped');
    // Enough traffic for more than one page of events (25 a page).
    for (const n of ['4', '5']) {
      expect((await call(handler, 'POST', '/shipments', { role: 'associate', body: newShipment(id(n)) })).status).toBe(201);
      await advance(id(n), 'Packed');
    }
    const order = { 'X-Trace-Id': `${prefix}-order-77` };
    for (const n of ['3a', '3b']) {
      const res = await call(handler, 'POST', '/shipments', { role: 'team-lead', body: { ...newShipment(id(n)), orderId: `ORD-${prefix}-77` }, headers: order });
      expect(res.status).toBe(201);
      expect((await command(id(n), 'team-lead', 'ReleaseForPicking', {}, order)).status).toBe(200);
    }
    const hostile = { ...newShipment(id('X')), destination: { ...newShipment(id('X')).destination, name: '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">' } };
    expect((await call(handler, 'POST', '/shipments', { role: 'associate', body: hostile })).status).toBe(201);

    // Accounting is another team's pipeline; record the charge the way it would, so the account
    // page has a transaction caused by a shipment event.
    const shipped = await ledgerHas(id('2'), 8);
    const events = (await call(ledger, 'GET', `/shipments/${id('2')}/events`, { role: 'viewer' })).body.items;
    const shipEvent = events.find((e: { type: string }) => e.type === 'ShipmentShipped');
    const producer = p.env.kafka.producer();
    await producer.connect();
    const value = await p.serde.encode('accounting.transactions', 'TransactionRecorded', {
      eventId: `${shipEvent.eventId}-charge`,
      aggregateId: 'ACC-42',
      aggregateType: 'Account',
      version: 1,
      traceId: shipEvent.traceId,
      causationId: shipEvent.eventId,
      initiatedBy: shipEvent.initiatedBy,
      timestamp: shipEvent.timestamp + 5,
      data: {
        transactionId: `charge-${shipEvent.eventId}`,
        accountId: 'ACC-42',
        kind: 'Charge',
        amountMinor: shipped.totalMinor,
        currency: 'EUR',
        reason: null,
        shipmentId: id('2'),
        sourceEventId: shipEvent.eventId,
      },
    });
    await producer.send({ topic: p.topics.accountingTransactions, messages: [{ key: 'ACC-42', value }] });
    await producer.disconnect();
    await ledgerHas(id('X'), 1);
    await ledgerHas(id('3b'), 2);

    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    collectBrowserErrors(page, browserErrors);
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await p?.close();
  });

  it('serves the page with a strict Content-Security-Policy, no data without a key, and whoami for a key', async () => {
    const res = await fetch(`${ledger.url}/admin/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await res.text()).toMatch(/<script type="module" src="assets\/main-[A-Z0-9]+\.js">/);
    expect((await fetch(`${ledger.url}/admin/whoami`)).status).toBe(401);
    expect((await call(ledger, 'GET', '/admin/whoami', { role: 'team-lead' })).body).toEqual({ principal: 'tom.teamlead', role: 'team-lead' });
    const machine = (await call(ledger, 'GET', '/admin/state-machine.json', { role: 'viewer' })).body;
    expect(machine.transitions).toContainEqual({ from: 'Packed', command: 'MarkReadyForShipping', to: 'ReadyForShipping', guard: null });
    expect((await call(ledger, 'GET', '/admin/config.json', { role: 'viewer' })).body.shipmentHandlerUrl).toBe(handler.url);
  });

  it('signs in with an API key kept in sessionStorage, never in the URL', async () => {
    await page.goto(`${ledger.url}/admin/`);
    await page.getByLabel('API key').fill('not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('That key is not valid here.').waitFor();
    await shot('01-sign-in');
    await page.getByLabel('API key').fill(key('supervisor'));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('whoami').waitFor();
    expect(await page.getByTestId('whoami').innerText()).toContain('sue.supervisor');
    expect(page.url()).not.toContain(key('supervisor'));
    expect(await page.evaluate(() => Object.keys(localStorage).length)).toBe(0);
  });

  it('lists events newest first with a colour, icon and label per type, and a legend', async () => {
    await page.goto(`${ledger.url}/admin/#/events`);
    await page.locator('table.events tbody tr').first().waitFor();
    const rows = page.locator('table.events tbody tr');
    expect(await rows.count()).toBeGreaterThan(10);
    const times = await rows.evaluateAll((trs) => trs.map((tr) => tr.querySelector('time')!.getAttribute('datetime')!));
    expect([...times].sort().reverse()).toEqual(times);
    // Colour: the badge of each type is painted differently; label and icon are there too.
    const colours = await page.locator('.legend .badge').evaluateAll((bs) => bs.map((b) => getComputedStyle(b).color));
    expect(new Set(colours).size).toBe(11);
    expect(await page.locator('.legend .badge svg').count()).toBe(11);
    expect(await page.locator('.legend').innerText()).toContain('Shipped');
    expect(await page.locator('table.events thead').innerText()).toMatch(/TIME[\s\S]*TYPE[\s\S]*SHIPMENT[\s\S]*WHO[\s\S]*TRACE[\s\S]*VERSION/i);
    await shot('02-events');
  });

  it('keeps its place when events arrive and offers "N new events — show"', async () => {
    const firstBefore = await page.locator('table.events tbody tr').first().getAttribute('data-event-id');
    await page.getByRole('button', { name: /Older/ }).click();
    await page.getByText('Page 2').waitFor();
    await page.waitForFunction((first) => document.querySelector('table.events tbody tr')?.getAttribute('data-event-id') !== first, firstBefore);
    const page2First = await page.locator('table.events tbody tr').first().getAttribute('data-event-id');
    expect(page2First).not.toBe(firstBefore);
    expect((await command(id('3a'), 'associate', 'PickItem', { sku: 'SKU-A', quantity: 1 })).status).toBe(200);
    await page.getByTestId('new-events').waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('new-events').innerText()).toMatch(/^1 new event — show$/);
    expect(await page.locator('table.events tbody tr').first().getAttribute('data-event-id')).toBe(page2First);
    await shot('03-events-new-arrivals');
    await page.getByTestId('new-events').click();
    await page.getByText('Page 1').waitFor();
    await page.waitForFunction(() => document.querySelector('table.events tbody tr .badge')?.textContent?.includes('Item picked'));
    expect(await page.locator('table.events tbody tr').first().innerText()).toContain(id('3a'));
  });

  it('filters by type, by shipment or order id, and by user', async () => {
    await page.locator('select[name=type]').selectOption('ItemPicked');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/type=ItemPicked/);
    await page.waitForFunction(() => document.querySelectorAll('table.events tbody tr').length > 0 && !document.querySelector('table.events.busy'));
    const types = await page.locator('table.events tbody tr .badge').allInnerTexts();
    expect(types.length).toBeGreaterThan(0);
    expect(new Set(types)).toEqual(new Set(['Item picked']));

    await page.goto(`${ledger.url}/admin/#/events?q=${encodeURIComponent(`ORD-${prefix}-77`)}`);
    await page.getByText(/events of 2 shipments/).waitFor();
    const shipments = await page.locator('table.events tbody tr td:nth-child(3)').allInnerTexts();
    expect(new Set(shipments)).toEqual(new Set([id('3a'), id('3b')]));
    await shot('04-events-filtered-by-order');

    await page.goto(`${ledger.url}/admin/#/events`);
    // Same document, new hash: wait until the page has re-read its filters from the URL (the
    // order id of the previous filter gone), or that re-render can overwrite what is typed next.
    await page.waitForFunction(() => {
      const field = Array.from(document.querySelectorAll('label')).find((l) => l.textContent?.includes('Shipment or order id'))?.control as HTMLInputElement | null | undefined;
      return field?.value === '' && !/events of 2 shipments/.test(document.body.textContent ?? '') && !document.querySelector('table.events.busy');
    });
    await page.getByLabel('Shipment or order id').fill(id('1'));
    await page.getByLabel('User').fill('ana.associate');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByText(/events of 1 shipment/).waitFor();
    const rows = await page.locator('table.events tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.children[2].textContent, tr.children[3].textContent]));
    expect(rows).toHaveLength(5);
    expect(rows.every(([s, who]) => s === id('1') && who === 'ana.associate')).toBe(true);
  });

  it('opens an event from the keyboard and walks previous/next through its shipment', async () => {
    await page.goto(`${ledger.url}/admin/#/events?q=${id('1')}`);
    await page.locator('table.events tbody tr').first().waitFor();
    // Tab reaches the rows; Enter opens one.
    await page.locator('table.events tbody tr').first().focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/events\/[^?]+$/);
    await page.getByText('Envelope').waitFor();
    expect(await page.locator('h1').innerText()).toContain(`shipment ${id('1')}, version 6`);
    const versions: number[] = [];
    for (let i = 0; i < 5; i++) {
      await page.getByTestId('previous').click();
      await page.waitForFunction((v) => document.querySelector('h1')?.textContent?.includes(`version ${v}`), 5 - i);
      versions.push(5 - i);
    }
    expect(versions).toEqual([5, 4, 3, 2, 1]);
    expect(await page.getByTestId('previous').count()).toBe(0);
    expect(await page.getByText('First event of the shipment').count()).toBe(1);
    expect(await page.locator('.envelope').innerText()).toMatch(/eventId[\s\S]*traceId[\s\S]*causationId[\s\S]*initiatedBy[\s\S]*ana.associate/);
    expect(await page.getByTestId('event-data').innerText()).toContain('SKU-A');
    await shot('05-event-created');
    await page.getByTestId('next').click();
    await page.waitForFunction(() => document.querySelector('h1')?.textContent?.includes('version 2'));
    await shot('06-event');
  });

  it('renders markup in event data as text', async () => {
    const created = (await call(ledger, 'GET', `/shipments/${id('X')}/events`, { role: 'viewer' })).body.items[0];
    await page.goto(`${ledger.url}/admin/#/events/${created.eventId}`);
    await page.waitForFunction((x) => document.querySelector('h1')?.textContent?.includes(`shipment ${x}`), id('X'));
    expect(await page.getByTestId('event-data').innerText()).toContain('<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">');
    expect(await page.locator('[data-testid="event-data"] script, [data-testid="event-data"] img').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    await shot('07-event-with-markup');
  });

  it('draws a trace: everything one request caused, across shipments', async () => {
    await page.goto(`${ledger.url}/admin/#/traces/${prefix}-order-77`);
    await page.getByTestId('trace-timeline').waitFor();
    const text = await page.getByTestId('trace-timeline').innerText();
    expect(text).toContain(id('3a'));
    expect(text).toContain(id('3b'));
    expect(text).toMatch(/Accepted/);
    expect(await page.locator('svg.swimlanes .lane-label').count()).toBe(2);
    await shot('08-trace-order');

    // From an event page to its trace: the shipped shipment's trace includes the account charge.
    const events = (await call(ledger, 'GET', `/shipments/${id('2')}/events`, { role: 'viewer' })).body.items;
    const shipEvent = events.find((e: { type: string }) => e.type === 'ShipmentShipped');
    await page.goto(`${ledger.url}/admin/#/events/${shipEvent.eventId}`);
    await page.getByRole('link', { name: 'Trace timeline' }).click();
    await page.getByTestId('trace-timeline').waitFor();
    await page.getByText('account ACC-42').first().waitFor();
    await shot('09-trace-with-accounting');
  });

  it("shows a shipment's state machine with its path, its history and its state as of any instant", async () => {
    await page.goto(`${ledger.url}/admin/#/shipments/${id('1')}`);
    await page.getByTestId('state-machine').waitFor();
    const visited = await page.locator('[data-testid="state-machine"] .node.visited').evaluateAll((gs) => gs.map((g) => g.getAttribute('data-status')));
    expect(visited).toEqual(['Created', 'PendingPicking', 'Picking', 'Picked', 'Packed']);
    expect(await page.locator('[data-testid="state-machine"] .node.current').getAttribute('data-status')).toBe('Packed');
    expect(await page.locator('[data-testid="state-machine"] .edge.taken').count()).toBe(5);
    expect(await page.getByTestId('history').locator('li').count()).toBe(6);
    await shot('10-shipment');

    const events = (await call(ledger, 'GET', `/shipments/${id('1')}/events`, { role: 'viewer' })).body.items;
    await page.goto(`${ledger.url}/admin/#/shipments/${id('1')}?asOf=${encodeURIComponent(events[2].at)}`);
    await page.getByTestId('asof-banner').waitFor();
    expect(await page.getByTestId('asof-banner').innerText()).toMatch(/version 3, status\s*Picking/);
    expect(await page.locator('[data-testid="state-machine"] .node.current').getAttribute('data-status')).toBe('Picking');
    // The slider moves to another version.
    const slider = page.locator('input[type=range]');
    await slider.focus();
    await page.keyboard.press('ArrowLeft');
    await page.waitForFunction(() => document.querySelector('[data-testid="asof-banner"]')?.textContent?.includes('version 2'));
    await shot('11-shipment-as-of');
  });

  it('shows a forbidden transition as an alert within a second, and acknowledges it', async () => {
    await page.goto(`${ledger.url}/admin/#/alerts`);
    await page.getByText('Live: new alerts appear here').waitFor();
    const before = await page.locator('.alert-item').count();
    const res = await command(id('1'), 'team-lead', 'ReleaseForPicking');
    const answeredAt = Date.now();
    expect([res.status, res.body.error]).toEqual([422, 'INVALID_TRANSITION']);
    const item = page.locator(`.alert-item[data-shipment="${id('1')}"]`).first();
    await item.waitFor({ timeout: 5_000 });
    const latency = Date.now() - answeredAt;
    expect(latency).toBeLessThan(1000);
    expect(await page.locator('.alert-item').count()).toBe(before + 1);
    const text = await item.innerText();
    expect(text).toContain('tom.teamlead');
    expect(text).toContain('ReleaseForPicking');
    expect(text).toMatch(/from\s*Packed/);
    await shot('12-alert');
    await item.getByRole('button', { name: 'Acknowledge' }).click();
    await item.getByText('Acknowledged', { exact: true }).waitFor();
    expect(await item.innerText()).toContain('acknowledged by sue.supervisor');
    await shot('13-alert-acknowledged');
  });

  it('lets a supervisor correct a status with a reason', async () => {
    await page.goto(`${ledger.url}/admin/#/shipments/${id('1')}`);
    const form = page.getByTestId('correct-form');
    await form.waitFor();
    await form.getByLabel('Target status').selectOption('Picking');
    await form.getByLabel('Reason (required)').fill('one box was missing at the dock');
    await form.getByRole('button', { name: 'Correct status' }).click();
    await page.getByTestId('correct-result').waitFor();
    expect(await page.getByTestId('correct-result').innerText()).toMatch(/Corrected to Picking \(version 7\)/);
    await page.waitForFunction(() => document.querySelector('[data-testid="state-machine"] .node.current')?.getAttribute('data-status') === 'Picking');
    expect(await page.getByTestId('history').innerText()).toContain('one box was missing at the dock');
    expect(await page.locator('[data-testid="state-machine"] .edge.correction').count()).toBe(1);
    await shot('14-shipment-corrected');
  });

  it('shows an account with transactions linked to the event that caused them', async () => {
    await page.goto(`${ledger.url}/admin/#/accounts/ACC-42`);
    await page.getByTestId('transactions').waitFor();
    expect(await page.getByTestId('balance').innerText()).toContain('EUR 74.99');
    await page.getByTestId('transactions').getByRole('link', { name: new RegExp(`Shipped shipment ${id('2')}`) }).click();
    await page.waitForURL(/#\/events\//);
    await page.getByText('Envelope').waitFor();
    expect(await page.locator('h1').innerText()).toContain('ShipmentShipped');
    await page.goto(`${ledger.url}/admin/#/accounts/ACC-42`);
    await page.getByTestId('transactions').waitFor();
    await shot('15-account');
  });

  it('does not offer a viewer the correction form, and shows the 403 when it is forced', async () => {
    const viewerContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const viewer = await viewerContext.newPage();
    try {
      await signIn(viewer, key('viewer'));
      await viewer.goto(`${ledger.url}/admin/#/shipments/${id('2')}`);
      await viewer.getByTestId('no-correct').waitFor();
      expect(await viewer.getByTestId('correct-form').count()).toBe(0);
      // Alerts can be read, not acknowledged.
      await viewer.goto(`${ledger.url}/admin/#/alerts`);
      await viewer.locator('.alert-item').first().waitFor();
      expect(await viewer.getByRole('button', { name: 'Acknowledge' }).count()).toBe(0);

      // Forcing the form (a role edited in sessionStorage): the API still refuses, and the page says so.
      await viewer.evaluate(() => {
        const s = JSON.parse(sessionStorage.getItem('waybill.admin.session')!);
        sessionStorage.setItem('waybill.admin.session', JSON.stringify({ ...s, role: 'supervisor' }));
      });
      await viewer.goto(`${ledger.url}/admin/#/shipments/${id('2')}`);
      await viewer.reload();
      const form = viewer.getByTestId('correct-form');
      await form.waitFor();
      await form.getByLabel('Target status').selectOption('Packed');
      await form.getByLabel('Reason (required)').fill('trying my luck');
      await form.getByRole('button', { name: 'Correct status' }).click();
      await viewer.getByTestId('correct-result').waitFor();
      expect(await viewer.getByTestId('correct-result').innerText()).toMatch(/^403 FORBIDDEN/);
      await shot('16-viewer-forced-403', viewer);
      expect((await ledgerHas(id('2'), 8)).status).toBe('Shipped');
    } finally {
      await viewerContext.close();
    }
  });

  it('works at phone width', async () => {
    const phoneContext = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    const phone = await phoneContext.newPage();
    try {
      await signIn(phone, key('team-lead'));
      await phone.goto(`${ledger.url}/admin/#/events`);
      await phone.locator('table.events tbody tr').first().waitFor();
      const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - 390);
      expect(overflow).toBeLessThanOrEqual(0);
      await shot('17-phone-events', phone);
      await phone.goto(`${ledger.url}/admin/#/shipments/${id('1')}`);
      await phone.getByTestId('state-machine').waitFor();
      expect(await phone.evaluate(() => document.documentElement.scrollWidth - 390)).toBeLessThanOrEqual(0);
      await shot('18-phone-shipment', phone);
    } finally {
      await phoneContext.close();
    }
  });

  it('feeds a day of traffic with tools/demo/demo.mjs, which says where to look', async () => {
    const { execFile } = await import('node:child_process');
    const output = await new Promise<string>((resolvePromise, reject) =>
      execFile(
        process.execPath,
        [join(root, 'tools', 'demo', 'demo.mjs'), '--handler', handler.url, '--ledger', ledger.url, '--stack', '/nonexistent', '--shipments', '40', '--seed', '7', '--quiet'],
        { timeout: 120_000 },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolvePromise(stdout)),
      ),
    );
    expect(output).toContain(`Open the ledger page: ${ledger.url}/admin/`);
    expect(output).toContain('No unexpected answers.');
    expect(output).toMatch(/a refused transition: +http/);
    expect(output).toMatch(/a corrected status: +http/);
    // The demo prints a link only once the ledger shows that shipment's last write (a correction).
    const corrected = /a corrected status: +\S+#\/shipments\/(\S+)/.exec(output)![1];
    expect((await call(ledger, 'GET', `/shipments/${corrected}`, { role: 'viewer' })).body).toMatchObject({ lastEvent: { type: 'StatusCorrected' } });
    expect(output).toContain('no accounting-handler in the stack; payments and adjustments skipped');
    const alerts = (await call(ledger, 'GET', '/alerts?limit=200', { role: 'viewer' })).body.items;
    expect(alerts.length).toBeGreaterThan(1);
  });

  it("shows an archived shipment's history, read back from Kafka, and says so", async () => {
    const shipmentId = id('9');
    expect((await call(handler, 'POST', '/shipments', { role: 'associate', body: newShipment(shipmentId) })).status).toBe(201);
    await advance(shipmentId, 'Packed');
    expect((await command(shipmentId, 'supervisor', 'Cancel', { reason: 'customer withdrew' })).status).toBe(200);
    await ledgerHas(shipmentId, 7);
    const before = (await call(ledger, 'GET', `/shipments/${shipmentId}/events`, { role: 'viewer' })).body.items;
    // What the ledger's pruner does once the window has passed (ledger.int.spec runs the pruner itself).
    expect(await archiveShipment(p.env.redisOf('single'), ledgerKeyPrefix(p.prefix), before[0].position.partition, shipmentId)).toBe('archived');
    expect((await call(ledger, 'GET', `/shipments/${shipmentId}`, { role: 'viewer' })).body).toMatchObject({ archived: true, status: 'Cancelled' });

    await page.goto(`${ledger.url}/admin/#/shipments/${shipmentId}`);
    await page.getByTestId('archived').waitFor();
    expect(await page.getByTestId('history').locator('li').count()).toBe(before.length);
    expect(await page.locator('[data-testid="state-machine"] .node.current').getAttribute('data-status')).toBe('Cancelled');
    await shot('19-shipment-archived');
  });

  it('raised no script errors in the browser', () => {
    expect(browserErrors).toEqual([]);
  });
});
