// The one workload every system here runs: "create then five transitions" per shipment.
//
//   CreateShipment → ReleaseForPicking → PickItem (the whole line) → CompletePicking → Pack → MarkReadyForShipping
//
// Commands are shaped like @waybill/shipment-domain's ShipmentCommand (metadata + data); the events
// are the ones the decider answers with (ShipmentCreated … ReadyForShipping), used by the Emmett
// peer as its appended payloads. No import of workspace libs here: the Emmett peer loads this file
// from its own package.
import { randomUUID } from 'node:crypto';

export const STEPS = [
  { command: 'CreateShipment', event: 'ShipmentCreated' },
  { command: 'ReleaseForPicking', event: 'ReleasedForPicking' },
  { command: 'PickItem', event: 'ItemPicked' },
  { command: 'CompletePicking', event: 'PickingCompleted' },
  { command: 'Pack', event: 'ShipmentPacked' },
  { command: 'MarkReadyForShipping', event: 'ReadyForShipping' },
];
export const COMMANDS_PER_SHIPMENT = STEPS.length;

const CITIES = [
  ['Rotterdam', '3011 AA', 'NL'],
  ['Antwerpen', '2000', 'BE'],
  ['Hamburg', '20095', 'DE'],
  ['Lyon', '69001', 'FR'],
  ['Utrecht', '3511 AB', 'NL'],
];
const PRINCIPAL = { initiatedBy: 'ana.associate', role: 'associate' };

/** The facts of shipment number `seq` of a run: what its create carries and what its pick takes. */
export function shipmentFacts(runTag, seq) {
  const [city, postalCode, country] = CITIES[seq % CITIES.length];
  const quantity = 1 + (seq % 4);
  const unitPriceMinor = 499 + (seq % 50) * 100;
  return {
    shipmentId: `SHP-${runTag}-${String(seq).padStart(7, '0')}`,
    traceId: randomUUID(),
    create: {
      orderId: `ORD-${runTag}-${seq}`,
      customerAccountId: `ACC-${String(seq % 997).padStart(5, '0')}`,
      currency: 'EUR',
      lines: [{ sku: `SKU-${String(seq % 5003).padStart(6, '0')}`, quantity, unitPriceMinor }],
      destination: { name: `Warehouse customer ${seq % 1000}`, street: `Havenstraat ${1 + (seq % 300)}`, city, postalCode, country },
    },
  };
}

/**
 * The command of `step` (0..5) for a shipment, as a domain `ShipmentCommand`: expectedVersion is the
 * version the shipment has before it (0 = must not exist yet), so every command checks it.
 */
export function shipmentCommand(facts, step, now = Date.now()) {
  const line = facts.create.lines[0];
  const data = [
    facts.create,
    {},
    { sku: line.sku, quantity: line.quantity },
    {},
    { packageCount: 1 + (line.quantity > 2 ? 1 : 0) },
    {},
  ][step];
  return {
    type: STEPS[step].command,
    data,
    metadata: {
      commandId: randomUUID(),
      shipmentId: facts.shipmentId,
      ...PRINCIPAL,
      traceId: facts.traceId,
      expectedVersion: step,
      now,
    },
  };
}

/** The event the decider answers `shipmentCommand(facts, step)` with, as `{ type, data }` (+ envelope ids as metadata). */
export function shipmentEvent(facts, step, command) {
  const line = facts.create.lines[0];
  const data = [
    { ...facts.create, totalMinor: line.quantity * line.unitPriceMinor },
    {},
    { sku: line.sku, quantity: line.quantity, pickedForSku: line.quantity },
    {},
    { packageCount: command.data.packageCount },
    {},
  ][step];
  const m = command.metadata;
  return {
    type: STEPS[step].event,
    data,
    metadata: {
      eventId: `${m.commandId}:0`,
      aggregateId: m.shipmentId,
      aggregateType: 'Shipment',
      version: step + 1,
      traceId: m.traceId,
      causationId: m.commandId,
      initiatedBy: m.initiatedBy,
      timestamp: m.now,
    },
  };
}
