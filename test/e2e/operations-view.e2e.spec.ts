import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, signInToAdmin } from '../support/browser';
import { runKafkaTool } from '@waybill/devstack';
import { call, key, newShipment, pipeline, root, type Pipeline } from '../support/pipeline';

// The operations view (/admin/ops/ on the ledger) against a private pipeline on the shared test
// broker: its numbers must be what Kafka's own `kafka-consumer-groups --describe` prints for the
// same groups, and the page in headless Chromium must show them. A stopped shipment-reducer leaves
// lag behind; an undecodable record on shipment.events leaves a dead letter.

const SHOTS = join(root, 'test-output', 'screenshots');
const TOOL = 'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand';

type App = Awaited<ReturnType<Pipeline['start']>>;
interface Row { group: string; topic: string; partition: number; current: string; end: string; lag: string }
interface ApiGroup { groupId: string; state: string; totalLag: string; members: Array<{ memberId: string; host: string; clientId: string }>; partitions: Array<{ topic: string; partition: number; committed: string | null; end: string; lag: string | null }>; lastRebalance: { observedAt: string | null; after: string | null; seen: number } }
interface ApiSnapshot { groups: ApiGroup[]; deadLetters: Array<{ topic: string; records: number }>; rebalances: { method: string } }

const sortRows = (rows: Row[]) => [...rows].sort((a, b) => `${a.group} ${a.topic} ${a.partition}`.localeCompare(`${b.group} ${b.topic} ${b.partition}`));

function rowsOf(snapshot: ApiSnapshot): Row[] {
  return sortRows(snapshot.groups.flatMap((g) => g.partitions.map((p) => ({ group: g.groupId, topic: p.topic, partition: p.partition, current: p.committed ?? '-', end: p.end, lag: p.lag ?? '-' }))));
}

/** `kafka-consumer-groups --describe` rows: GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID. */
function toolRows(stdout: string, groups: readonly string[]): Row[] {
  return sortRows(
    stdout
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter((cells) => groups.includes(cells[0]) && /^\d+$/.test(cells[2] ?? ''))
      .map(([group, topic, partition, current, end, lag]) => ({ group, topic, partition: Number(partition), current, end, lag })),
  );
}

describe('the operations view', () => {
  let p: Pipeline;
  let handler: App;
  let ledger: App;
  let reducer: App;
  let browser: Browser;
  let page: Page;
  let stoppedAt = 0;
  const ops = async (): Promise<ApiSnapshot> => {
    const res = await call(ledger, 'GET', '/admin/api/ops', { role: 'supervisor' });
    expect(res.status).toBe(200);
    return res.body;
  };

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    p = await pipeline('ops-view');
    reducer = await p.start('shipment-reducer');
    handler = await p.start('shipment-handler', { OUTCOME_WAIT_MS: '3000' });
    ledger = await p.start('ledger', { SHIPMENT_HANDLER_URL: handler.url, OPS_POLL_MS: '300' });
    const tag = Date.now().toString(36).toUpperCase();
    for (const n of [1, 2, 3]) expect((await call(handler, 'POST', '/shipments', { role: 'associate', body: newShipment(`OPS${tag}-${n}`) })).status).toBe(201);
    // The reducer stops (committing what it did); what arrives meanwhile is its lag.
    await reducer.service.stop(10_000);
    stoppedAt = Date.now();
    // Commands to the shipments it already decided: their partitions have committed offsets, so
    // the three wait as lag (a new shipment could hash to a partition the group never committed
    // on, which kafka-consumer-groups, and so this view, does not list for a group without members).
    const waiting = await Promise.all([1, 2, 3].map((n) => call(handler, 'POST', `/shipments/OPS${tag}-${n}/commands`, { role: 'team-lead', body: { type: 'ReleaseForPicking' } })));
    expect(waiting.map((w) => w.status)).toEqual([202, 202, 202]);
    // One record the ledger can never decode: a dead letter on shipment.events.dlq.
    const producer = p.env.kafka.producer();
    await producer.connect();
    await producer.send({ topic: p.topics.shipmentEvents, messages: [{ key: `OPS${tag}-1`, value: Buffer.from('not an avro record') }] });
    await producer.disconnect();
    browser = await launchChromium();
    page = await (await browser.newContext()).newPage();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await p?.close();
  });

  it('answers only team leads and supervisors with an API key', async () => {
    expect((await call(ledger, 'GET', '/admin/api/ops')).status).toBe(401);
    expect((await call(ledger, 'GET', '/admin/api/ops', { role: 'viewer' })).body).toMatchObject({ error: 'FORBIDDEN' });
    expect((await call(ledger, 'GET', '/admin/api/ops', { role: 'team-lead' })).status).toBe(200);
  });

  it('shows every group of the pipeline, its members, the lag the stopped reducer left and the dead letter, and the rebalance it observed', async () => {
    const reducerGroup = `${p.prefix}shipment-reducer`;
    let snapshot: ApiSnapshot | undefined;
    const deadline = Date.now() + 30_000;
    for (;;) {
      snapshot = await ops();
      const g = snapshot.groups.find((x) => x.groupId === reducerGroup);
      const dlq = snapshot.deadLetters.find((d) => d.topic === `${p.topics.shipmentEvents}.dlq`);
      if (g && g.state === 'Empty' && g.lastRebalance.observedAt && dlq?.records === 1) break;
      if (Date.now() > deadline) throw new Error(`the view never showed the stopped reducer and the dead letter: ${JSON.stringify(snapshot)}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    const groups = new Map(snapshot.groups.map((g) => [g.groupId, g]));
    expect([...groups.keys()]).toEqual(expect.arrayContaining([reducerGroup, `${p.prefix}ledger`]));
    const stopped = groups.get(reducerGroup) as ApiGroup;
    expect(stopped.members).toEqual([]);
    // The three commands wait, as lag on the partitions it committed.
    expect(stopped.partitions.reduce((sum, x) => sum + Number(x.lag ?? 0), 0)).toBe(3);
    expect(Number(stopped.totalLag)).toBeGreaterThan(0);
    // Observed between two looks around the moment the reducer left.
    expect(Date.parse(stopped.lastRebalance.observedAt as string)).toBeGreaterThanOrEqual(stoppedAt - 11_000);
    expect(Date.parse(stopped.lastRebalance.after as string)).toBeLessThanOrEqual(Date.parse(stopped.lastRebalance.observedAt as string));
    const ledgerGroup = groups.get(`${p.prefix}ledger`) as ApiGroup;
    expect(ledgerGroup.state).toBe('Stable');
    expect(ledgerGroup.members).toHaveLength(1);
    expect(ledgerGroup.members[0].host).toMatch(/^127\.0\.0\.1$|^::1$|^::ffff:127\.0\.0\.1$/);
    expect(snapshot.rebalances.method).toMatch(/^observed: the groups are described every 300 ms/);

    // The page, signed in on /admin and opened from its link.
    await signInToAdmin(page, ledger.url, key('supervisor'));
    await page.getByTestId('ops-link').click();
    await page.waitForURL(/\/admin\/ops\/$/);
    const card = page.locator(`[data-testid="ops-group"][data-group="${reducerGroup}"]`);
    await card.waitFor();
    expect(await card.getByTestId('ops-group-state').textContent()).toBe('Empty');
    expect(await card.getByTestId('ops-group-lag').textContent()).toBe(stopped.totalLag);
    expect(await card.getByTestId('ops-group-rebalance').textContent()).toMatch(/^seen at /);
    const ledgerCard = page.locator(`[data-testid="ops-group"][data-group="${p.prefix}ledger"]`);
    expect(await ledgerCard.getByTestId('ops-member').count()).toBe(1);
    const dlqRow = page.locator(`[data-testid="ops-dlq"][data-topic="${p.topics.shipmentEvents}.dlq"]`);
    expect(await dlqRow.getByTestId('ops-dlq-records').textContent()).toBe('1');
    // Refreshed live: the "Updated" line moves on without a reload.
    const before = await page.getByTestId('ops-updated').textContent();
    await page.waitForFunction((text) => document.querySelector('[data-testid="ops-updated"]')?.textContent !== text, before, { timeout: 10_000 });
    await page.screenshot({ path: join(SHOTS, 'operations-view.png'), fullPage: true });

    // Every partition row on the page equals the API's.
    const pageRows = await page.locator('[data-testid="ops-group"]').evaluateAll((cards) =>
      cards.flatMap((c) =>
        Array.from(c.querySelectorAll('[data-testid="ops-partition"]')).map((r) => ({
          group: c.getAttribute('data-group') ?? '',
          topic: r.getAttribute('data-topic') ?? '',
          partition: Number(r.getAttribute('data-partition')),
          current: r.querySelector('[data-testid="ops-committed"]')?.textContent ?? '',
          end: r.querySelector('[data-testid="ops-end"]')?.textContent ?? '',
          lag: r.querySelector('[data-testid="ops-lag"]')?.textContent ?? '',
        })),
      ),
    );
    const api = rowsOf(await ops());
    expect(sortRows(pageRows)).toEqual(api);
  });

  it('has the lag figures kafka-consumer-groups --describe prints for the same groups', async () => {
    let compared = 0;
    for (let attempt = 0; attempt < 10 && compared === 0; attempt++) {
      const first = await ops();
      const groups = first.groups.map((g) => g.groupId);
      const { stdout } = await runKafkaTool(TOOL, ['--bootstrap-server', p.env.brokers[0], '--describe', ...groups.flatMap((g) => ['--group', g])]);
      const again = await ops();
      // Only a quiet moment compares: the same figures before and after the tool ran.
      if (JSON.stringify(rowsOf(first)) !== JSON.stringify(rowsOf(again))) continue;
      const tool = toolRows(stdout, groups);
      expect(tool.length).toBeGreaterThan(4);
      expect(rowsOf(first)).toEqual(tool);
      expect(tool.some((r) => r.lag !== '0' && r.lag !== '-')).toBe(true);
      compared = tool.length;
    }
    expect(compared).toBeGreaterThan(0);
  });
});
