import { SHIPMENT_STATUSES } from '@waybill/shipment-domain';
import type { AccountSummary, ShipmentSummary } from './documents';
import { ledgerKeys } from './keys';
import { applyToMemory } from './project';
import { MemoryKeyspace } from './writes';
import { asEvents, asOutcome, asTransaction, lifecycle, rejectedOutcome, resetOffsets, stored, T0, transaction } from './fixtures.spec';

const PREFIX = 't.ledger:';
const keys = ledgerKeys(PREFIX, 0);

beforeEach(() => resetOffsets());

/** Shipments per status over the partitions the tests use (each partition counts its own shipments). */
function counts(ks: MemoryKeyspace): Record<string, number> {
  const total: Record<string, number> = {};
  for (const partition of [0, 1]) {
    for (const [status, n] of Object.entries(ks.hgetall(ledgerKeys(PREFIX, partition).statusCounts))) total[status] = (total[status] ?? 0) + Number(n);
  }
  return Object.fromEntries(Object.entries(total).filter(([, n]) => n !== 0));
}

describe('shipment events', () => {
  it('keeps the summary at the latest version and state', () => {
    const ks = new MemoryKeyspace();
    applyToMemory(ks, PREFIX, asEvents(lifecycle('S1')));
    const summary = JSON.parse(stored(ks, keys.shipment('S1'))) as ShipmentSummary;
    expect(summary).toMatchObject({ shipmentId: 'S1', version: 8, status: 'Shipped', orderId: 'ORD-S1', createdAt: T0, updatedAt: T0 + 7 * 60_000 });
    expect(summary.state).toMatchObject({ carrier: 'DHL', packageCount: 2, lines: [{ sku: 'SKU-A', picked: 2 }, { sku: 'SKU-B', picked: 1 }] });
    expect(ks.zrange(keys.shipmentEvents('S1')).map(([, v]) => v)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(ks.hgetall(keys.offsets)).toEqual({ 'shipment.events:0': '8' });
  });

  it('is idempotent: applying the same records twice leaves the keyspace as once, offsets included', () => {
    const once = new MemoryKeyspace();
    const twice = new MemoryKeyspace();
    const records = lifecycle('S1');
    applyToMemory(once, PREFIX, asEvents(records));
    resetOffsets();
    const first = asEvents(records);
    applyToMemory(twice, PREFIX, first);
    const again = applyToMemory(twice, PREFIX, first);
    expect(again).toMatchObject({ applied: 0, duplicates: 8 });
    expect(twice.dump()).toEqual(once.dump());
  });

  it('ignores an older version replayed at a later offset, but records the offset', () => {
    const ks = new MemoryKeyspace();
    const records = lifecycle('S1');
    applyToMemory(ks, PREFIX, asEvents(records));
    const before = ks.dump();
    const replay = applyToMemory(ks, PREFIX, asEvents([records[2]]));
    expect(replay.duplicates).toBe(1);
    const after = ks.dump();
    expect(after[keys.offsets]).toEqual({ type: 'hash', value: { 'shipment.events:0': '9' } });
    delete before[keys.offsets];
    delete after[keys.offsets];
    expect(after).toEqual(before);
  });

  it('counts each shipment once, in its current status, moving only when the status changes', () => {
    const ks = new MemoryKeyspace();
    const a = lifecycle('A');
    const b = lifecycle('B');
    applyToMemory(ks, PREFIX, asEvents(a.slice(0, 3))); // A: Picking
    applyToMemory(ks, PREFIX, asEvents(b.slice(0, 1), 1)); // B: Created
    expect(counts(ks)).toEqual({ Picking: 1, Created: 1 });
    applyToMemory(ks, PREFIX, asEvents(a.slice(3, 4))); // A picks again: still Picking
    expect(counts(ks)).toEqual({ Picking: 1, Created: 1 });
    applyToMemory(ks, PREFIX, asEvents(a.slice(0, 4))); // replay: nothing moves
    expect(counts(ks)).toEqual({ Picking: 1, Created: 1 });
    applyToMemory(ks, PREFIX, asEvents(a.slice(4)));
    expect(counts(ks)).toEqual({ Shipped: 1, Created: 1 });
    expect(ks.zrange(keys.status('Shipped')).map(([id]) => id)).toEqual(['A']);
    expect(ks.zrange(keys.status('Picking'))).toEqual([]);
    expect(Object.keys(ks.hgetall(keys.statusCounts)).every((s) => (SHIPMENT_STATUSES as readonly string[]).includes(s))).toBe(true);
  });

  it('follows a correction back to an earlier status', () => {
    const ks = new MemoryKeyspace();
    const records = lifecycle('S1').slice(0, 6);
    const corrected = {
      type: 'StatusCorrected',
      value: {
        ...records[5].value,
        eventId: 'fix:0',
        version: 7,
        timestamp: T0 + 10 * 60_000,
        initiatedBy: 'sue.supervisor',
        data: { fromStatus: 'Packed', toStatus: 'Picking', reason: 'miscount', correctedBy: 'sue.supervisor', customerAccountId: 'ACC-1', totalMinor: 7499, currency: 'EUR' },
      },
    } as (typeof records)[number];
    applyToMemory(ks, PREFIX, asEvents([...records, corrected]));
    expect(counts(ks)).toEqual({ Picking: 1 });
    expect(ks.zrange(keys.feedByUser('sue.supervisor'))).toHaveLength(1);
  });

  it('indexes events in the feed by time, type and principal, and in their trace', () => {
    const ks = new MemoryKeyspace();
    applyToMemory(ks, PREFIX, asEvents(lifecycle('S1')));
    const feed = ks.zrange(keys.feed).map(([m]) => m);
    expect(feed).toHaveLength(8);
    expect([...feed].sort()).toEqual(feed);
    expect(ks.zrange(keys.feedByType('ItemPicked'))).toHaveLength(2);
    expect(ks.zrange(keys.feedByUser('tom.teamlead'))).toHaveLength(1);
    expect(ks.zrange(keys.trace('trace-S1'))).toHaveLength(8);
  });
});

describe('outcomes and alerts', () => {
  it('stores an outcome once by its id and lists alerts only', () => {
    const ks = new MemoryKeyspace();
    const alert = rejectedOutcome('S1', T0 + 1000);
    const quiet = rejectedOutcome('S1', T0 + 2000, false);
    const first = applyToMemory(ks, PREFIX, [asOutcome(alert), asOutcome(quiet)]);
    expect(first.alerts.map((a) => a.eventId)).toEqual([alert.eventId]);
    const second = applyToMemory(ks, PREFIX, [asOutcome(alert)]);
    expect(second).toMatchObject({ applied: 0, duplicates: 1, alerts: [] });
    expect(ks.zrange(keys.alerts)).toHaveLength(1);
    expect(ks.zrange(keys.trace('trace-S1'))).toHaveLength(2);
  });
});

describe('accounts', () => {
  it('sums signed amounts, counts transactions and drops a repeated transactionId', () => {
    const ks = new MemoryKeyspace();
    const charge = transaction('ACC-1', 'tx-1', 7499, T0, { shipmentId: 'S1', sourceEventId: 'cmd-S1-8:0' });
    const payment = transaction('ACC-1', 'tx-2', -5000, T0 + 1000, { kind: 'Payment' });
    applyToMemory(ks, PREFIX, [asTransaction(charge), asTransaction(payment), asTransaction(charge)]);
    const account = JSON.parse(stored(ks, keys.account('ACC-1'))) as AccountSummary;
    expect(account).toMatchObject({ accountId: 'ACC-1', balanceMinor: 2499, currency: 'EUR', version: 2, lastTransactionId: 'tx-2' });
    expect(ks.zrange(keys.accountTransactions('ACC-1'))).toEqual([
      ['tx-1', 1],
      ['tx-2', 2],
    ]);
    expect(ks.hgetall(keys.offsets)).toEqual({ 'accounting.transactions:0': '3' });
  });
});

describe('Redis Cluster hash slots', () => {
  it("writes every key of a partition's records under that partition's hash tag, and nothing else", () => {
    const records = [
      ...asEvents(lifecycle('S1'), 3),
      asOutcome(rejectedOutcome('S1', T0 + 500), 3),
      asTransaction(transaction('ACC-1', 'tx-1', 10, T0, {}, 'trace-S1'), 3),
      ...asEvents(lifecycle('S2', T0 + 9_000), 7),
    ];
    const plan = applyToMemory(new MemoryKeyspace(), PREFIX, records.slice(0, -lifecycle('S2').length));
    const tags = new Set([...plan.writes.map((w) => w.key), ...plan.expect.map(([key]) => key)].map((key) => /^\{([^}]*)\}/.exec(key)?.[1]));
    expect([...tags]).toEqual([`${PREFIX}3`]);
    const other = applyToMemory(new MemoryKeyspace(), PREFIX, records.slice(-lifecycle('S2').length));
    expect(new Set(other.writes.map((w) => /^\{([^}]*)\}/.exec(w.key)?.[1]))).toEqual(new Set([`${PREFIX}7`]));
  });
});

describe('determinism', () => {
  it('gives the same keyspace whether records come in one batch or one at a time', () => {
    const records = [...asEvents(lifecycle('S1')), asOutcome(rejectedOutcome('S1', T0 + 500)), asTransaction(transaction('ACC-1', 'tx-1', 10, T0, {}, 'trace-S1'))];
    const whole = new MemoryKeyspace();
    applyToMemory(whole, PREFIX, records);
    const single = new MemoryKeyspace();
    for (const record of records) applyToMemory(single, PREFIX, [record]);
    expect(single.dump()).toEqual(whole.dump());
    expect(JSON.stringify(single.dump())).toBe(JSON.stringify(whole.dump()));
  });

  it('interleaving partitions differently gives the same keyspace', () => {
    const a = asEvents(lifecycle('A'), 0);
    const b = asEvents(lifecycle('B', T0 + 30_000), 1);
    const one = new MemoryKeyspace();
    applyToMemory(one, PREFIX, [...a, ...b]);
    const other = new MemoryKeyspace();
    applyToMemory(other, PREFIX, b.flatMap((r, i) => [r, a[i]]));
    expect(JSON.stringify(other.dump())).toBe(JSON.stringify(one.dump()));
  });
});
