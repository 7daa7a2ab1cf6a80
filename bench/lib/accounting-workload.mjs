// The accounting bench's input: ShipmentShipped events shaped like the shipment reducer's
// (envelope + data, Avro via the contracts serde), each charging one of `accounts` customer accounts.
import { randomUUID } from 'node:crypto';

/** The plain value of the `i`-th ShipmentShipped of run `runTag` (unique eventId, aggregateId). */
export function shipmentShipped(runTag, i, { accounts, timestamp = Date.now() }) {
  const shipmentId = `SHP-${runTag}-${String(i).padStart(7, '0')}`;
  const traceId = randomUUID();
  return {
    eventId: `${shipmentId}:shipped`,
    aggregateId: shipmentId,
    aggregateType: 'Shipment',
    version: 7,
    traceId,
    causationId: `cmd-${shipmentId}-ship`,
    initiatedBy: 'bench',
    timestamp,
    data: {
      carrier: 'DHL',
      trackingNumber: `TRK${String(i).padStart(10, '0')}`,
      customerAccountId: `ACC-${runTag}-${String(i % accounts).padStart(5, '0')}`,
      totalMinor: 100 + (i % 9_900),
      currency: 'EUR',
      serviceLevel: null,
    },
  };
}

/** Encodes events `first .. first+count-1` as Kafka messages for `shipment.events` (key = shipment id). */
export async function encodeShipped(serde, topic, runTag, first, count, { accounts, timestamp }) {
  const out = [];
  for (let i = first; i < first + count; i++) {
    const value = shipmentShipped(runTag, i, { accounts, timestamp: typeof timestamp === 'function' ? timestamp(i - first) : timestamp });
    out.push({
      eventId: value.eventId,
      accountId: value.data.customerAccountId,
      totalMinor: value.data.totalMinor,
      message: {
        key: value.aggregateId,
        value: await serde.encode(topic, 'ShipmentShipped', value),
        headers: { 'x-trace-id': value.traceId, 'x-event-type': 'ShipmentShipped' },
      },
    });
  }
  return out;
}
