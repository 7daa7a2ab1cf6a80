import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Producer } from 'kafkajs';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, signInToAdmin, collectBrowserErrors } from '../support/browser';
import type { Observation } from '@waybill/contracts';
import { call, key, pipeline, root, type Pipeline } from '../support/pipeline';

// Observations through the whole pipeline (shipment.observations → shipment-reducer → shipment.events
// and shipment.outcomes → the ledger), read on both time axes over HTTP and on /admin in headless
// Chromium. The "design-011" timeline: a legacy system's facts at 14:00, 14:05, 14:10 and 14:35
// business time, reported (so recorded) in the order 14:00, 14:05, 14:35, 14:10.

const SHOTS = join(root, 'test-output', 'screenshots');
const DAY = Date.parse('2025-03-03T00:00:00.000Z');
const hm = (h: number, m: number) => DAY + (h * 60 + m) * 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

type App = Awaited<ReturnType<Pipeline['start']>>;

interface EventAnswer {
  eventId: string;
  version: number;
  type: string;
  initiatedBy: string;
  timestamp: number;
  occurredAt: string;
  recordedAt: string;
  observation: {
    source: string;
    sourceId: string;
    observedBy: string;
    reportedBy: string;
    violation: { code: string; rule: string; fromStatus: string; transition: string; previous?: { version: number; type: string; observedBy: string | null; occurredAt: string } | null } | null;
  } | null;
}

describe('observations on the ledger: two time axes, violations, alerts and the page', () => {
  let p: Pipeline;
  let ledger: App;
  let producer: Producer;
  let browser: Browser;
  let page: Page;
  const browserErrors: string[] = [];
  const shipment = `OBS${Date.now().toString(36).toUpperCase()}`;
  let events: EventAnswer[] = [];

  function observation(sourceId: string, occurredAt: number, fact: Partial<Observation>): Observation {
    return {
      shipmentId: shipment,
      source: 'legacy-wms',
      sourceId,
      process: `flow-${shipment}`,
      observedBy: 'wms.kim',
      kind: 'StatusChanged',
      toStatus: null,
      sku: null,
      quantity: null,
      packageCount: null,
      carrier: null,
      trackingNumber: null,
      receivedBy: null,
      reason: null,
      order: null,
      occurredAt,
      reportedBy: 'wms-bridge',
      ...fact,
    };
  }

  async function report(value: Observation): Promise<void> {
    const encoded = await p.serde.encode('shipment.observations', 'Observation', value);
    await producer.send({ topic: p.topics.shipmentObservations, acks: -1, messages: [{ key: value.shipmentId, value: encoded }] });
  }

  async function ledgerHas(version: number): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const res = await call(ledger, 'GET', `/shipments/${shipment}`, { role: 'viewer' });
      if (res.status === 200 && res.body.version >= version) return;
      if (Date.now() > deadline) throw new Error(`the ledger never reached ${shipment} v${version} (last answer ${res.status})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const at = async (query: string) => {
    const res = await call(ledger, 'GET', `/shipments/${shipment}?${query}`, { role: 'viewer' });
    return res.status === 200 ? [res.body.status, res.body.version] : [res.status, res.body.error];
  };

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    p = await pipeline('observations-ledger');
    await p.start('shipment-reducer');
    ledger = await p.start('ledger');
    producer = p.env.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const facts = [
      observation('f-1400', hm(14, 0), {
        kind: 'Created',
        order: {
          orderId: `ORD-${shipment}`,
          customerAccountId: 'ACC-42',
          currency: 'EUR',
          lines: [{ sku: 'SKU-A', quantity: 2, unitPriceMinor: 1250 }],
          destination: { name: 'Ada Lovelace', street: 'Main 1', city: 'Utrecht', postalCode: '3511 AA', country: 'NL' },
        },
      }),
      observation('f-1405', hm(14, 5), { toStatus: 'PendingPicking' }),
      // Forbidden (PendingPicking → Packed): recorded anyway, flagged and alerted.
      observation('f-1435', hm(14, 35), { toStatus: 'Packed', observedBy: 'wms.lee' }),
      // Late: it happened at 14:10 but arrives after the 14:35 fact.
      observation('f-1410', hm(14, 10), { toStatus: 'Picking' }),
    ];
    // One at a time, each recorded before the next is reported: the recorded order is the sending order.
    for (const [i, fact] of facts.entries()) {
      await report(fact);
      await ledgerHas(i + 1);
    }
    events = (await call(ledger, 'GET', `/shipments/${shipment}/events`, { role: 'viewer' })).body.items;

    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: 'UTC' });
    page = await context.newPage();
    collectBrowserErrors(page, browserErrors);
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await producer?.disconnect();
    await p?.close();
  });

  it('records both times of every event and the observation mark, never showing the integration as the person', () => {
    expect(events.map((e) => [e.version, e.type, e.occurredAt])).toEqual([
      [1, 'ShipmentCreated', iso(hm(14, 0))],
      [2, 'StatusObserved', iso(hm(14, 5))],
      [3, 'StatusObserved', iso(hm(14, 35))],
      [4, 'StatusObserved', iso(hm(14, 10))],
    ]);
    const recorded = events.map((e) => Date.parse(e.recordedAt));
    expect([...recorded].sort((a, b) => a - b)).toEqual(recorded);
    expect(new Set(recorded).size).toBe(4);
    // Recorded now, long after the business time.
    expect(recorded[0]).toBeGreaterThan(Date.now() - 5 * 60_000);
    expect(events[0].timestamp).toBe(hm(14, 0));
    expect(events.every((e) => e.initiatedBy === 'wms-bridge' && e.observation?.reportedBy === 'wms-bridge' && e.observation.source === 'legacy-wms')).toBe(true);
    expect(events[2].observation).toMatchObject({ sourceId: 'f-1435', observedBy: 'wms.lee', violation: { code: 'INVALID_TRANSITION', fromStatus: 'PendingPicking' } });
    expect(events[2].observation?.violation?.transition).toMatch(/PendingPicking.*Packed/);
    expect(events[2].observation?.violation?.previous).toMatchObject({ version: 2, type: 'StatusObserved', observedBy: 'wms.kim', occurredAt: iso(hm(14, 5)) });
    expect(events[3].observation?.violation).toBeNull();
  });

  it('answers the business axis: 14:12 is the 14:10 state, the late fact in its place', async () => {
    expect(await at(`asOf=${iso(hm(14, 12))}`)).toEqual(['Picking', 4]);
    expect(await at(`asOf=${iso(hm(14, 6))}`)).toEqual(['PendingPicking', 2]);
    expect(await at(`asOf=${iso(hm(14, 40))}`)).toEqual(['Packed', 4]);
    expect(await at(`asOf=${iso(hm(13, 59))}`)).toEqual([404, 'NOT_YET_CREATED']);
    const body = (await call(ledger, 'GET', `/shipments/${shipment}?asOf=${iso(hm(14, 12))}`, { role: 'viewer' })).body;
    expect(body).toMatchObject({ asOf: iso(hm(14, 12)), knownAt: null, inEffect: { throughVersion: 2, alsoVersions: [4] }, reordered: true });
    expect(body.state.statusTimeline).toBeDefined();
  });

  it('answers the recorded axis: what Waybill knew at each recording instant', async () => {
    const known = events.map((e) => e.recordedAt);
    expect(await at(`knownAt=${iso(Date.parse(known[0]) - 1)}`)).toEqual([404, 'NOT_YET_RECORDED']);
    expect(await at(`knownAt=${known[0]}`)).toEqual(['Created', 1]);
    expect(await at(`knownAt=${known[1]}`)).toEqual(['PendingPicking', 2]);
    expect(await at(`knownAt=${known[2]}`)).toEqual(['Packed', 3]);
    expect(await at(`knownAt=${known[3]}`)).toEqual(['Packed', 4]);
  });

  it('answers both: what Waybill knew at knownAt about the state at asOf', async () => {
    const known = events.map((e) => e.recordedAt);
    expect(await at(`asOf=${iso(hm(14, 12))}&knownAt=${known[2]}`)).toEqual(['PendingPicking', 2]);
    expect(await at(`asOf=${iso(hm(14, 12))}&knownAt=${known[3]}`)).toEqual(['Picking', 4]);
  });

  it('refuses a bad instant on either axis with 400 naming it', async () => {
    for (const [query, param] of [
      ['knownAt=yesterday', 'knownAt'],
      ['knownAt=2025-03-03T14:00:00', 'knownAt'],
      ['asOf=2025-02-30T14:00:00Z', 'asOf'],
      [`asOf=${iso(hm(14, 0))}&knownAt=1`, 'knownAt'],
    ]) {
      const res = await call(ledger, 'GET', `/shipments/${shipment}?${query}`, { role: 'viewer' });
      expect([query, res.status, res.body.param]).toEqual([query, 400, param]);
    }
    expect((await call(ledger, 'GET', `/shipments/${shipment}/diff?from=${iso(hm(14, 0))}&to=${iso(hm(15, 0))}&knownAt=x`, { role: 'viewer' })).body.param).toBe('knownAt');
  });

  it('diffs on the business axis without the status timeline', async () => {
    const res = await call(ledger, 'GET', `/shipments/${shipment}/diff?from=${iso(hm(14, 6))}&to=${iso(hm(14, 12))}`, { role: 'viewer' });
    expect(res.status).toBe(200);
    expect(res.body.changes).toContainEqual({ path: 'status', before: 'PendingPicking', after: 'Picking' });
    expect(res.body.changes.some((c: { path: string }) => c.path.startsWith('statusTimeline'))).toBe(false);
    expect(res.body.events.map((e: EventAnswer) => e.version)).toEqual([4]);
  });

  it('lists the rule violation as an alert: who, via which source, reported by whom, which transition from which status', async () => {
    const alerts = (await call(ledger, 'GET', '/alerts', { role: 'viewer' })).body.items;
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      kind: 'rule-violation',
      status: 'Accepted',
      alert: true,
      commandType: 'RecordObservation',
      initiatedBy: 'wms-bridge',
      shipmentId: shipment,
      violation: { source: 'legacy-wms', sourceId: 'f-1435', observedBy: 'wms.lee', fromStatus: 'PendingPicking', code: 'INVALID_TRANSITION' },
    });
    expect(Date.parse(alerts[0].recordedAt)).toBeGreaterThan(Date.parse(alerts[0].at));
  });

  describe('on /admin', () => {
    beforeAll(async () => {
      await signInToAdmin(page, ledger.url, key('supervisor'));
    });

    it('shows the violating observed event as a violation row, with its rule and previous event', async () => {
      await page.goto(`${ledger.url}/admin/#/events`);
      const row = page.getByTestId('violation-row');
      await row.waitFor();
      expect(await row.count()).toBe(1);
      expect(await row.getAttribute('data-event-id')).toBe(events[2].eventId);
      expect(await row.getByTestId('violation-badge').innerText()).toContain('Rule violation');
      expect(await row.getByTestId('violation-rule').innerText()).toContain(events[2].observation?.violation?.rule ?? 'no rule');
      expect(await row.getByTestId('violation-rule').innerText()).toMatch(/PendingPicking.*Packed/);
      expect((await row.getByTestId('violation-previous').innerText()).replace(/\s+/g, ' ')).toMatch(/After v2 Status observed by wms\.kim \(reported by wms-bridge\) at 2025-03-03 14:05:00/);
      // Who did it in the source, and who reported it: both named, neither as the other.
      expect(await row.getByTestId('observed-by').innerText()).toMatch(/wms\.lee in legacy-wms · reported by wms-bridge/);
      // Distinct: the row is painted differently from the others.
      const colours = await page.locator('table.events tbody tr td:nth-child(2)').evaluateAll((tds) => tds.map((td) => getComputedStyle(td).backgroundColor));
      expect(new Set(colours).size).toBe(2);
      await page.screenshot({ path: join(SHOTS, '30-violation-row.png'), fullPage: true });

      await page.goto(`${ledger.url}/admin/#/shipments/${shipment}`);
      const history = page.getByTestId('history');
      await history.waitFor();
      expect((await history.getByTestId('violation-row').innerText()).replace(/\s+/g, ' ')).toMatch(/v3[\s\S]*Rule violation[\s\S]*After v2/);
      expect(await history.locator('li[data-version="4"]').getByTestId('late-badge').count()).toBe(1);
    });

    it('shows a new rule violation on the alerts page within a second of its outcome', async () => {
      await page.goto(`${ledger.url}/admin/#/alerts`);
      await page.getByText('Live: new alerts appear here').waitFor();
      expect(await page.locator('.alert-item[data-kind="rule-violation"]').count()).toBe(1);
      // Packed → Delivered skips shipping: forbidden.
      await report(observation('f-1450', hm(14, 50), { toStatus: 'Delivered', observedBy: 'wms.max' }));
      const item = page.locator(`.alert-item[data-kind="rule-violation"]`, { hasText: 'wms.max' });
      await item.waitFor({ timeout: 10_000 });
      const seenAt = Date.now();
      const alert = (await call(ledger, 'GET', '/alerts', { role: 'viewer' })).body.items.find((a: { violation: { sourceId: string } | null }) => a.violation?.sourceId === 'f-1450');
      expect(seenAt - Date.parse(alert.recordedAt)).toBeLessThan(1000);
      const text = (await item.getByTestId('alert-violation').innerText()).replace(/\s+/g, ' ');
      expect(text).toMatch(/Rule violation\s+wms\.max \(in legacy-wms, reported by wms-bridge\) did Packed.*Delivered on shipment/);
      expect(text).toContain(shipment);
      expect(text).toMatch(/from\s+Packed/);
      await page.screenshot({ path: join(SHOTS, '31-violation-alert.png'), fullPage: true });
      await ledgerHas(5);
    });

    it('travels in time on the business axis, the recorded axis and both', async () => {
      const known = (await call(ledger, 'GET', `/shipments/${shipment}/events`, { role: 'viewer' })).body.items.map((e: EventAnswer) => e.recordedAt);
      await page.goto(`${ledger.url}/admin/#/shipments/${shipment}`);
      const banner = page.getByTestId('asof-banner');
      await page.getByTestId('time-travel').waitFor();
      expect(await page.getByTestId('axis-business').isChecked()).toBe(true);

      // Business time 14:12 (the page's zone is UTC here): the 14:10 state.
      await page.getByTestId('asof-input').fill('2025-03-03T14:12:00');
      await page.getByTestId('time-travel-show').click();
      await page.waitForFunction(() => document.querySelector('[data-testid="asof-banner"]')?.textContent?.includes('business time'));
      expect(await page.getByTestId('asof-status').innerText()).toBe('Picking');
      expect(await banner.innerText()).toMatch(/as of .* \(business time\): version 4/);
      expect(await page.locator('[data-testid="history"] li[data-in-effect="true"]').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-version')))).toEqual(['1', '2', '4']);
      await page.screenshot({ path: join(SHOTS, '32-business-axis.png'), fullPage: true });

      // Both: one step back along recorded time keeps 14:12 and asks what was known then (before the late fact and the 14:50 one).
      await page.getByTestId('axis-recorded').check();
      const slider = page.getByTestId('time-slider');
      await slider.focus();
      await page.keyboard.press('ArrowLeft');
      await page.waitForFunction(() => document.querySelector('[data-testid="asof-banner"]')?.textContent?.includes('recorded time'));
      expect(page.url()).toContain(`knownAt=${encodeURIComponent(known[3])}`);
      expect(await page.getByTestId('asof-status').innerText()).toBe('Picking');
      await page.keyboard.press('ArrowLeft');
      await page.waitForFunction((k) => location.hash.includes(encodeURIComponent(k)), known[2]);
      await page.waitForFunction(() => document.querySelector('[data-testid="asof-status"]')?.textContent === 'PendingPicking');
      expect(await banner.innerText()).toMatch(/business time.*recorded time/);
      await page.screenshot({ path: join(SHOTS, '33-both-axes.png'), fullPage: true });

      // The recorded axis alone: what Waybill knew when it recorded the forbidden 14:35 fact.
      await page.getByTestId('time-travel-now').click();
      await page.waitForFunction(() => !document.querySelector('[data-testid="asof-banner"]'));
      await page.getByTestId('axis-recorded').check();
      await slider.focus();
      await page.keyboard.press('ArrowLeft');
      await page.keyboard.press('ArrowLeft');
      await page.waitForFunction((k) => location.hash.includes(encodeURIComponent(k)) && !location.hash.includes('asOf'), known[2]);
      await page.waitForFunction(() => document.querySelector('[data-testid="asof-status"]')?.textContent === 'Packed');
      expect(await banner.innerText()).toMatch(/knew it at .* \(recorded time\): version 3/);
      expect(browserErrors).toEqual([]);
    });
  });
});
