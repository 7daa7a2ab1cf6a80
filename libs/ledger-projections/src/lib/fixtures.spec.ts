// Test fixtures: wire records as the reducer and accounting write them.
import type { CommandOutcome, ShipmentEventRecord, TransactionRecorded } from '@waybill/contracts';
import type { LedgerInput } from './documents';
import type { MemoryKeyspace } from './writes';

export const T0 = Date.parse('2025-03-01T10:00:00.000Z');

let offsets = new Map<string, number>();
export function resetOffsets(): void {
  offsets = new Map();
  accountVersions = new Map();
}

// Per account, the version each transaction id was booked at (the command listener's gapless
// versions): the same id again is the same booking replayed.
let accountVersions = new Map<string, Map<string, number>>();
function bookedVersion(accountId: string, transactionId: string): number {
  const booked = accountVersions.get(accountId) ?? new Map<string, number>();
  accountVersions.set(accountId, booked);
  const replayed = booked.get(transactionId);
  if (replayed !== undefined) return replayed;
  const version = booked.size + 1;
  booked.set(transactionId, version);
  return version;
}
function nextOffset(topic: string, partition: number): string {
  const key = `${topic}:${partition}`;
  const offset = offsets.get(key) ?? 0;
  offsets.set(key, offset + 1);
  return String(offset);
}

const meta = (shipmentId: string, version: number, at: number, traceId: string, by = 'ana.associate') => ({
  eventId: `cmd-${shipmentId}-${version}:0`,
  aggregateId: shipmentId,
  aggregateType: 'Shipment',
  version,
  traceId,
  causationId: `cmd-${shipmentId}-${version}`,
  initiatedBy: by,
  timestamp: at,
  observation: null,
});

/** The happy-path event records of one shipment: created, released, picked ×2, completed, packed, ready, shipped. */
export function lifecycle(shipmentId: string, start = T0, step = 60_000, traceId = `trace-${shipmentId}`): ShipmentEventRecord[] {
  const at = (v: number) => start + (v - 1) * step;
  return [
    {
      type: 'ShipmentCreated',
      value: {
        ...meta(shipmentId, 1, at(1), traceId),
        data: {
          orderId: `ORD-${shipmentId}`,
          customerAccountId: 'ACC-1',
          currency: 'EUR',
          lines: [
            { sku: 'SKU-A', quantity: 2, unitPriceMinor: 1250 },
            { sku: 'SKU-B', quantity: 1, unitPriceMinor: 4999 },
          ],
          destination: { name: 'Ada', street: 'Main 1', city: 'Utrecht', postalCode: '3511', country: 'NL' },
          totalMinor: 7499,
        },
      },
    },
    { type: 'ReleasedForPicking', value: { ...meta(shipmentId, 2, at(2), traceId, 'tom.teamlead'), data: {} } },
    { type: 'ItemPicked', value: { ...meta(shipmentId, 3, at(3), traceId), data: { sku: 'SKU-A', quantity: 2, pickedForSku: 2 } } },
    { type: 'ItemPicked', value: { ...meta(shipmentId, 4, at(4), traceId), data: { sku: 'SKU-B', quantity: 1, pickedForSku: 1 } } },
    { type: 'PickingCompleted', value: { ...meta(shipmentId, 5, at(5), traceId), data: {} } },
    { type: 'ShipmentPacked', value: { ...meta(shipmentId, 6, at(6), traceId), data: { packageCount: 2 } } },
    { type: 'ReadyForShipping', value: { ...meta(shipmentId, 7, at(7), traceId), data: {} } },
    {
      type: 'ShipmentShipped',
      value: {
        ...meta(shipmentId, 8, at(8), traceId),
        data: { carrier: 'DHL', trackingNumber: 'TRK-1', customerAccountId: 'ACC-1', totalMinor: 7499, currency: 'EUR', serviceLevel: null },
      },
    },
  ];
}

/** `count` events of one shipment: created, released, then item picks one unit at a time. */
export function longHistory(shipmentId: string, count: number, start = T0, step = 1_000): ShipmentEventRecord[] {
  const [created, released] = lifecycle(shipmentId, start, step);
  (created.value.data as { lines: Array<{ quantity: number }> }).lines[0].quantity = count;
  const picks: ShipmentEventRecord[] = [];
  for (let v = 3; v <= count; v += 1) {
    picks.push({ type: 'ItemPicked', value: { ...meta(shipmentId, v, start + (v - 1) * step, `trace-${shipmentId}`), data: { sku: 'SKU-A', quantity: 1, pickedForSku: v - 2 } } });
  }
  return [created, released, ...picks].slice(0, count);
}

export function rejectedOutcome(shipmentId: string, at: number, alert = true, traceId = `trace-${shipmentId}`): CommandOutcome {
  return {
    commandId: `cmd-${shipmentId}-rejected-${at}`,
    aggregateId: shipmentId,
    commandType: 'ReleaseForPicking',
    status: 'Rejected',
    version: 6,
    eventIds: [],
    rejection: { code: 'INVALID_TRANSITION', reason: 'a packed shipment cannot go back to picking', currentStatus: 'Packed', allowedCommands: ['MarkReadyForShipping', 'Cancel'], fieldErrors: [] },
    alert,
    violation: null,
    initiatedBy: 'ana.associate',
    role: 'associate',
    traceId,
    causationId: `cmd-${shipmentId}-rejected-${at}`,
    timestamp: at,
    eventId: `cmd-${shipmentId}-rejected-${at}:outcome`,
  };
}

export function transaction(accountId: string, transactionId: string, amountMinor: number, at: number, extra: Partial<TransactionRecorded['data']> = {}, traceId = 'trace-x'): TransactionRecorded {
  return {
    eventId: `${transactionId}:0`,
    aggregateId: accountId,
    aggregateType: 'Account',
    version: bookedVersion(accountId, transactionId),
    traceId,
    causationId: `acmd-${transactionId}`,
    initiatedBy: 'accounting-listener',
    timestamp: at,
    data: { transactionId, accountId, kind: 'Charge', amountMinor, currency: 'EUR', reason: null, shipmentId: null, sourceEventId: null, ...extra },
  };
}

export const asEvents = (records: ShipmentEventRecord[], partition = 0): LedgerInput[] =>
  records.map((record) => ({ position: { topic: 'shipment.events', partition, offset: nextOffset('shipment.events', partition) }, record }));
export const asOutcome = (value: CommandOutcome, partition = 0): LedgerInput => ({
  position: { topic: 'shipment.outcomes', partition, offset: nextOffset('shipment.outcomes', partition) },
  record: { type: 'CommandOutcome', value },
});
export const asTransaction = (value: TransactionRecorded, partition = 0): LedgerInput => ({
  position: { topic: 'accounting.transactions', partition, offset: nextOffset('accounting.transactions', partition) },
  record: { type: 'TransactionRecorded', value },
});

/** The string stored at `key`: a test reading a document the projection must have written fails here, naming it. */
export function stored(ks: MemoryKeyspace, key: string): string {
  const value = ks.get(key);
  if (value === null) throw new Error(`nothing stored at ${key}`);
  return value;
}

/**
 * The "design-011" timeline: a legacy system's facts at 14:00, 14:05, 14:10 and 14:35 (business
 * time), recorded by Waybill at 15:00, 15:01, 15:03 and 15:02: the 14:10 fact arrives late, after
 * the 14:35 one. Events as the reducer records them (versions in recording order).
 */
export const DAY = Date.parse('2025-03-03T00:00:00.000Z');
export const hm = (h: number, m: number) => DAY + (h * 60 + m) * 60_000;
export function design011(shipmentId = 'D011'): Array<{ record: ShipmentEventRecord; recordedAt: number }> {
  const mark = (sourceId: string, violation: { code: string; rule: string; fromStatus: string; transition: string } | null = null) => ({
    source: 'legacy-wms',
    sourceId,
    process: 'flow-1',
    observedBy: 'wms.kim',
    violation,
  });
  const env = (version: number, at: number, sourceId: string, violation?: Parameters<typeof mark>[1]) => ({
    eventId: `obs-${shipmentId}-${sourceId}:0`,
    aggregateId: shipmentId,
    aggregateType: 'Shipment',
    version,
    traceId: `trace-${shipmentId}`,
    causationId: `obs-${shipmentId}-${sourceId}`,
    initiatedBy: 'wms-bridge',
    timestamp: at,
    observation: mark(sourceId, violation ?? null),
  });
  const money = { customerAccountId: 'ACC-1', totalMinor: 2500, currency: 'EUR' };
  return [
    {
      recordedAt: hm(15, 0),
      record: {
        type: 'ShipmentCreated',
        value: {
          ...env(1, hm(14, 0), 'f-1400'),
          data: {
            orderId: `ORD-${shipmentId}`,
            ...money,
            lines: [{ sku: 'SKU-A', quantity: 2, unitPriceMinor: 1250 }],
            destination: { name: 'Ada', street: 'Main 1', city: 'Utrecht', postalCode: '3511', country: 'NL' },
          },
        },
      },
    },
    { recordedAt: hm(15, 1), record: { type: 'StatusObserved', value: { ...env(2, hm(14, 5), 'f-1405'), data: { fromStatus: 'Created', toStatus: 'PendingPicking', ...money } } } },
    {
      recordedAt: hm(15, 2),
      record: {
        type: 'StatusObserved',
        value: {
          ...env(3, hm(14, 35), 'f-1435', { code: 'INVALID_TRANSITION', rule: 'The state machine has no transition from PendingPicking to Packed', fromStatus: 'PendingPicking', transition: 'PendingPicking → Packed' }),
          data: { fromStatus: 'PendingPicking', toStatus: 'Packed', ...money },
        },
      },
    },
    { recordedAt: hm(15, 3), record: { type: 'StatusObserved', value: { ...env(4, hm(14, 10), 'f-1410'), data: { fromStatus: 'PendingPicking', toStatus: 'Picking', ...money } } } },
  ] as Array<{ record: ShipmentEventRecord; recordedAt: number }>;
}

export const asRecorded = (items: Array<{ record: ShipmentEventRecord; recordedAt: number }>, partition = 0): LedgerInput[] =>
  items.map(({ record, recordedAt }) => ({ position: { topic: 'shipment.events', partition, offset: nextOffset('shipment.events', partition) }, record, recordedAt }));
