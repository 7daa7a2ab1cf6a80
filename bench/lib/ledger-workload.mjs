// Shipment event records for bench/ledger.mjs, shaped like the reducer's (envelope + data), built
// so the ledger projection's version guard accepts every one: versions 1, 2, 3 … with no gaps per
// shipment, and only transitions the state machine allows (created, released, then one ItemPicked
// per unit of a large line, then picking completed and packed).

const envelope = (shipmentId, version, at, traceId, by = 'bench.associate') => ({
  eventId: `bench-${shipmentId}-${version}:0`,
  aggregateId: shipmentId,
  aggregateType: 'Shipment',
  version,
  traceId,
  causationId: `bench-${shipmentId}-${version}`,
  initiatedBy: by,
  timestamp: at,
});

/**
 * The `count` events (≥ 2) of one shipment: ShipmentCreated with a line of `picks` units, ReleasedForPicking,
 * then ItemPicked one unit at a time; when `finish`, PickingCompleted and ShipmentPacked close it,
 * and when `cancel` too, a ShipmentCancelled after them (closed: what a retention window archives).
 * They count towards `count`. Events are `stepMs` apart from `start`.
 */
export function shipmentEvents(shipmentId, count, { start, stepMs = 1_000, finish = false, cancel = false } = {}) {
  const picks = Math.max(1, count - 2 - (finish ? 2 : 0) - (finish && cancel ? 1 : 0));
  const traceId = `trace-${shipmentId}`;
  const at = (v) => start + (v - 1) * stepMs;
  const records = [
    {
      type: 'ShipmentCreated',
      value: {
        ...envelope(shipmentId, 1, at(1), traceId),
        data: {
          orderId: `ORD-${shipmentId}`,
          customerAccountId: `ACC-${shipmentId.slice(-2)}`,
          currency: 'EUR',
          lines: [{ sku: 'SKU-A', quantity: picks, unitPriceMinor: 125 }],
          destination: { name: 'Ada Lovelace', street: 'Main 1', city: 'Utrecht', postalCode: '3511 AA', country: 'NL' },
          totalMinor: picks * 125,
        },
      },
    },
    { type: 'ReleasedForPicking', value: { ...envelope(shipmentId, 2, at(2), traceId, 'bench.teamlead'), data: {} } },
  ];
  for (let unit = 1; unit <= picks && records.length < count; unit += 1) {
    const v = records.length + 1;
    records.push({ type: 'ItemPicked', value: { ...envelope(shipmentId, v, at(v), traceId), data: { sku: 'SKU-A', quantity: 1, pickedForSku: unit } } });
  }
  if (finish) {
    const v = records.length + 1;
    records.push({ type: 'PickingCompleted', value: { ...envelope(shipmentId, v, at(v), traceId), data: {} } });
    records.push({ type: 'ShipmentPacked', value: { ...envelope(shipmentId, v + 1, at(v + 1), traceId), data: { packageCount: 1 } } });
    if (cancel) records.push({ type: 'ShipmentCancelled', value: { ...envelope(shipmentId, v + 2, at(v + 2), traceId), data: { reason: 'bench: closed', fromStatus: 'Packed' } } });
  }
  return records.slice(0, count);
}

/** Folds `events` with the domain's own evolve (the check that the workload is a valid history). */
export function foldWithDomain(domain, messages, events) {
  let state = domain.initialState();
  for (const record of events) state = domain.evolveEnvelope(state, messages.recordToEnvelope(record));
  return state;
}
