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
