import { call, key, newShipment, pipeline, type Pipeline } from '../support/pipeline';

// The ledger's retention window as the app runs it: a window of about a second and a pass every
// 250 ms, so a shipment cancelled now is archived by the ledger's own pruner within seconds, while
// an open one stays in Redis. What archiving keeps answering is in ledger.int.spec and the admin page's e2e.

type App = Awaited<ReturnType<Pipeline['start']>>;

describe("the ledger's pruner on a running stack", () => {
  let p: Pipeline;
  let handler: App;
  let ledger: App;
  const prefix = `R${Date.now().toString(36).toUpperCase()}`;

  beforeAll(async () => {
    p = await pipeline('retention');
    await p.start('shipment-reducer');
    handler = await p.start('shipment-handler', { OUTCOME_WAIT_MS: '10000' });
    ledger = await p.start('ledger', { LEDGER_RETENTION_DAYS: '0.00001', LEDGER_PRUNE_INTERVAL_MS: '250' });
  });

  afterAll(async () => {
    await p?.close();
  });

  async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('archives a cancelled shipment past the window on its own, keeps an open one, and counts it in /metrics', async () => {
    const [closed, open] = [`${prefix}-closed`, `${prefix}-open`];
    for (const id of [closed, open]) expect((await call(handler, 'POST', '/shipments', { role: 'associate', body: newShipment(id) })).status).toBe(201);
    const cancelled = await call(handler, 'POST', `/shipments/${closed}/commands`, { role: 'supervisor', body: { type: 'Cancel', data: { reason: 'customer withdrew' } } });
    expect([cancelled.status, cancelled.body.status]).toEqual([200, 'accepted']);

    const archived = await until('the cancelled shipment to be archived', async () => {
      const res = await call(ledger, 'GET', `/shipments/${closed}`, { role: 'viewer' });
      return res.status === 200 && res.body.archived ? res.body : undefined;
    });
    expect(archived).toMatchObject({ status: 'Cancelled', version: 2 });
    const history = await call(ledger, 'GET', `/shipments/${closed}/events`, { role: 'viewer' });
    expect(history.body.items.map((e: { type: string }) => e.type)).toEqual(['ShipmentCreated', 'ShipmentCancelled']);

    // Several passes later the open one is still whole in Redis.
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await call(ledger, 'GET', `/shipments/${open}`, { role: 'viewer' })).body).toMatchObject({ status: 'Created', archived: false });
    const feed = await call(ledger, 'GET', `/events?limit=100`, { role: 'viewer' });
    const listed = new Set(feed.body.items.map((e: { shipmentId: string }) => e.shipmentId));
    expect([listed.has(open), listed.has(closed)]).toEqual([true, false]);

    const metrics = await (await fetch(`${ledger.url}/metrics`, { headers: { 'x-api-key': key('viewer') } })).text();
    expect(metrics).toMatch(/^waybill_ledger_archived_shipments_total\{outcome="archived",app="ledger"\} 1$/m);
  });
});
