import type { TransactionRecorded } from '@waybill/contracts';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { REDIS_KINDS } from '@waybill/devstack';
import { call, newShipment, pipeline, root, type Pipeline } from '../support/pipeline';

// HTTP → shipment-handler → shipment-reducer → shipment.events → accounting-listener →
// accounting.commands → accounting-command-listener → accounting.transactions → account-reducer,
// and HTTP → accounting-handler for payments, adjustments and reads; real Kafka, Redis, registry.

type App = Awaited<ReturnType<Pipeline['start']>>;

const TOTAL = 2 * 1250 + 4999;

async function eventually<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await read();
  while (!ok(last)) {
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(last)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
    last = await read();
  }
  return last;
}

// Every app on each Redis deployment: on the cluster, state stores, the gateways' keys and both read
// models keep each atomic write in one slot.
describe.each(REDIS_KINDS)('accounting, end to end, on a %s Redis', (redisKind) => {
  let p: Pipeline;
  let shipments: App;
  let accounting: App;
  let ledger: App;

  beforeAll(async () => {
    p = await pipeline('accounting', { redisKind });
    await Promise.all([
      p.start('shipment-reducer'),
      p.start('accounting-listener'),
      p.start('accounting-command-listener'),
      p.start('account-reducer'),
    ]);
    [shipments, accounting, ledger] = await Promise.all([
      p.start('shipment-handler', { OUTCOME_WAIT_MS: '10000' }),
      p.start('accounting-handler', { OUTCOME_WAIT_MS: '10000' }),
      p.start('ledger'),
    ]);
  });
  afterAll(() => p?.close());

  async function ship(id: string, accountId: string): Promise<void> {
    const created = await call(shipments, 'POST', '/shipments', { role: 'associate', body: { ...newShipment(id), customerAccountId: accountId } });
    expect(created.status).toBe(201);
    const steps: Array<[string, string, object]> = [
      ['team-lead', 'ReleaseForPicking', {}],
      ['associate', 'PickItem', { sku: 'SKU-A', quantity: 2 }],
      ['associate', 'PickItem', { sku: 'SKU-B', quantity: 1 }],
      ['associate', 'CompletePicking', {}],
      ['associate', 'Pack', { packageCount: 2 }],
      ['associate', 'MarkReadyForShipping', {}],
      ['associate', 'Ship', { carrier: 'DHL', trackingNumber: `TRK-${id}` }],
    ];
    for (const [role, type, data] of steps) {
      const res = await call(shipments, 'POST', `/shipments/${id}/commands`, { role, body: { type, data } });
      expect([type, res.status]).toEqual([type, 200]);
    }
  }

  const balance = (accountId: string) => call(accounting, 'GET', `/accounts/${accountId}`, { role: 'finance' });
  const balanceIs = (accountId: string, minor: number) =>
    eventually(`balance of ${accountId}`, async () => (await balance(accountId)).body?.balanceMinor, (b) => b === minor);

  it('charges the shipment total when it ships, reverses it on a supervisor correction Shipped → Packed, and lowers it by a payment', async () => {
    await ship('AC-1', 'ACC-E2E-1');
    await balanceIs('ACC-E2E-1', TOTAL);
    const charged = await balance('ACC-E2E-1');
    expect(charged.body).toMatchObject({ accountId: 'ACC-E2E-1', currency: 'EUR', version: 1, reflects: { partition: expect.any(Number), nextOffset: expect.any(String) } });

    const correction = await call(shipments, 'POST', '/shipments/AC-1/commands', {
      role: 'supervisor',
      body: { type: 'CorrectStatus', data: { toStatus: 'Packed', reason: 'left on the dock' } },
    });
    expect(correction.status).toBe(200);
    await balanceIs('ACC-E2E-1', 0);

    const list = await call(accounting, 'GET', '/accounts/ACC-E2E-1/transactions', { role: 'viewer' });
    expect(list.status).toBe(200);
    expect(list.body.items.map((t: { kind: string; amountMinor: number }) => [t.kind, t.amountMinor])).toEqual([
      ['ChargeReversal', -TOTAL],
      ['Charge', TOTAL],
    ]);
    expect(list.body.items[1].cause).toMatchObject({ type: 'shipment', shipmentId: 'AC-1', initiatedBy: 'ana.associate' });
    expect(list.body.items[0]).toMatchObject({ reason: 'left on the dock', initiatedBy: 'sue.supervisor', balanceAfterMinor: 0 });

    // Shipped again: charged again; then the customer pays part of it.
    for (const type of ['MarkReadyForShipping', 'Ship']) {
      const res = await call(shipments, 'POST', '/shipments/AC-1/commands', { role: 'associate', body: { type, data: type === 'Ship' ? { carrier: 'UPS', trackingNumber: 'T2' } : {} } });
      expect(res.status).toBe(200);
    }
    await balanceIs('ACC-E2E-1', TOTAL);
    const beforePayment = Date.now();
    await new Promise((r) => setTimeout(r, 20));

    const paid = await call(accounting, 'POST', '/accounts/ACC-E2E-1/payments', {
      role: 'finance',
      body: { amountMinor: 2000, currency: 'EUR', reference: 'bank 4711' },
      headers: { 'Idempotency-Key': 'pay-1' },
    });
    expect(paid.status).toBe(201);
    expect(paid.body).toMatchObject({ status: 'recorded', accountId: 'ACC-E2E-1', balanceMinor: TOTAL - 2000, position: { partition: expect.any(Number), offset: expect.any(String) } });
    // Its readToken reads the write back through accounting-handler, from account-reducer.
    expect(paid.body.readToken).toBe(`ACC-E2E-1@${paid.body.version}`);
    const mine = await call(accounting, 'GET', `/accounts/ACC-E2E-1?readToken=${encodeURIComponent(paid.body.readToken)}`, { role: 'viewer' });
    expect([mine.status, mine.body.version >= paid.body.version, mine.body.balanceMinor]).toEqual([200, true, TOTAL - 2000]);
    const otherAccount = await call(accounting, 'GET', `/accounts/ACC-E2E-1?readToken=ACC-OTHER@1`, { role: 'viewer' });
    expect([otherAccount.status, otherAccount.body.fieldErrors?.[0]?.field]).toEqual([400, 'readToken']);

    const retried = await call(accounting, 'POST', '/accounts/ACC-E2E-1/payments', {
      role: 'finance',
      body: { amountMinor: 2000, currency: 'EUR', reference: 'bank 4711' },
      headers: { 'Idempotency-Key': 'pay-1' },
    });
    expect(retried.status).toBe(201);
    expect([retried.body.transactionId, retried.body.commandId]).toEqual([paid.body.transactionId, paid.body.commandId]);
    const reused = await call(accounting, 'POST', '/accounts/ACC-E2E-1/payments', {
      role: 'finance',
      body: { amountMinor: 2500, currency: 'EUR' },
      headers: { 'Idempotency-Key': 'pay-1' },
    });
    expect([reused.status, reused.body.error]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED']);

    const adjusted = await call(accounting, 'POST', '/accounts/ACC-E2E-1/adjustments', {
      role: 'finance',
      body: { amountMinor: -499, currency: 'EUR', reason: 'goodwill' },
    });
    expect([adjusted.status, adjusted.body.balanceMinor]).toEqual([201, TOTAL - 2000 - 499]);

    const asOf = await call(accounting, 'GET', `/accounts/ACC-E2E-1?asOf=${new Date(beforePayment).toISOString()}`, { role: 'finance' });
    expect([asOf.status, asOf.body.balanceMinor, asOf.body.version]).toEqual([200, TOTAL, 3]);

    const payments = (await call(accounting, 'GET', '/accounts/ACC-E2E-1/transactions', { role: 'finance' })).body.items.filter((t: { kind: string }) => t.kind === 'Payment');
    expect(payments).toHaveLength(1);
    expect(payments[0]).toMatchObject({ amountMinor: -2000, reason: 'bank 4711', cause: { type: 'request', initiatedBy: 'fay.finance' } });

    // The topic agrees: every transaction id once, and the balance is their sum.
    const recorded = (await p.readTopic('accountingTransactions', 5))
      .filter((r) => r.recordName === 'TransactionRecorded')
      .map((r) => r.value as TransactionRecorded)
      .filter((t) => t.aggregateId === 'ACC-E2E-1');
    const ids = recorded.map((t) => t.data.transactionId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(recorded.reduce((sum, t) => sum + t.data.amountMinor, 0)).toBe(TOTAL - 2000 - 499);
    expect(recorded.map((t) => t.version)).toEqual([1, 2, 3, 4, 5]);
  });

  it('answers bad money with 400 naming every field, an unknown account with 404, another currency with 400, and books nothing', async () => {
    await ship('AC-2', 'ACC-E2E-2');
    await balanceIs('ACC-E2E-2', TOTAL);

    const fractional = await call(accounting, 'POST', '/accounts/ACC-E2E-2/payments', { role: 'finance', body: { amountMinor: 12.5, currency: 'EUR' } });
    expect([fractional.status, fractional.body.fieldErrors.map((f: { field: string }) => f.field)]).toEqual([400, ['amountMinor']]);
    const negative = await call(accounting, 'POST', '/accounts/ACC-E2E-2/payments', { role: 'finance', body: { amountMinor: -100, currency: 'euro', note: 'x' } });
    expect(negative.status).toBe(400);
    expect(negative.body.fieldErrors.map((f: { field: string }) => f.field).sort()).toEqual(['amountMinor', 'currency', 'note']);
    const noReason = await call(accounting, 'POST', '/accounts/ACC-E2E-2/adjustments', { role: 'finance', body: { amountMinor: 0, currency: 'EUR' } });
    expect(noReason.status).toBe(400);
    expect(noReason.body.fieldErrors.map((f: { field: string }) => f.field).sort()).toEqual(['amountMinor', 'reason']);

    const unknown = await call(accounting, 'POST', '/accounts/NOBODY/payments', { role: 'finance', body: { amountMinor: 100, currency: 'EUR' } });
    expect([unknown.status, unknown.body.error]).toEqual([404, 'NOT_FOUND']);
    const dollars = await call(accounting, 'POST', '/accounts/ACC-E2E-2/payments', { role: 'finance', body: { amountMinor: 100, currency: 'USD' } });
    expect([dollars.status, dollars.body.error]).toEqual([400, 'CURRENCY_MISMATCH']);
    expect((await call(accounting, 'POST', '/accounts/ACC-E2E-2/payments', { role: 'associate', body: { amountMinor: 100, currency: 'EUR' } })).status).toBe(403);
    expect((await call(accounting, 'GET', '/accounts/NOBODY', { role: 'finance' })).status).toBe(404);

    const after = await balance('ACC-E2E-2');
    expect([after.body.balanceMinor, after.body.version]).toEqual([TOTAL, 1]);
  });

  it('feeds payments and adjustments with tools/demo/demo.mjs, and every one of its requests gets the answer it expects', async () => {
    const output = await new Promise<string>((resolvePromise, reject) =>
      execFile(
        process.execPath,
        [join(root, 'tools', 'demo', 'demo.mjs'), '--handler', shipments.url, '--ledger', ledger.url, '--accounting', accounting.url, '--stack', '/nonexistent', '--shipments', '30', '--seed', '11', '--quiet'],
        { timeout: 120_000 },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolvePromise(stdout)),
      ),
    );
    expect(output).toContain('No unexpected answers.');
    const booked = /Accounting: (\d+) payments, (\d+) adjustments\./.exec(output);
    expect(booked).not.toBeNull();
    expect(Number(booked?.[1])).toBeGreaterThan(0);
  });
});
