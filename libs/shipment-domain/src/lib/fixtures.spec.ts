// Builders shared by the *.unit.spec.ts files. Named `.spec.ts` so the build leaves it out; it
// holds no tests itself (jest only runs `*.unit.spec.ts`).
import { deciderSpec } from '@waybill/util';
import type { CommandMetadata, ShipmentCommand, ShipmentCommandOf, ShipmentCommandType, ShipmentRole } from './commands';
import { shipmentDecider } from './decider';
import { isRejection } from './errors';
import type { ShipmentEvent, ShipmentEventOf } from './events';

export const given = deciderSpec(shipmentDecider, isRejection);

export const SHIPMENT_ID = '1345693';
export const NOW = Date.UTC(2025, 0, 15, 9, 30);

export function meta(overrides: Partial<CommandMetadata> = {}): CommandMetadata {
  return {
    commandId: 'cmd-1',
    shipmentId: SHIPMENT_ID,
    initiatedBy: 'alice',
    role: 'associate',
    traceId: 'trace-1',
    now: NOW,
    ...overrides,
  };
}

export function as(role: ShipmentRole, initiatedBy = `${role}-1`): Partial<CommandMetadata> {
  return { role, initiatedBy };
}

export function command<T extends ShipmentCommandType>(
  type: T,
  data: ShipmentCommandOf<T>['data'],
  metadata: Partial<CommandMetadata> = {},
): ShipmentCommandOf<T> {
  return { type, data, metadata: meta(metadata) } as ShipmentCommandOf<T>;
}

/** Two lines: 2 × SKU-A at 1250 and 1 × SKU-B at 4999 → 7499 minor units. */
export const createData: ShipmentCommandOf<'CreateShipment'>['data'] = {
  orderId: 'ORD-77',
  customerAccountId: 'ACC-9',
  currency: 'EUR',
  lines: [
    { sku: 'SKU-A', quantity: 2, unitPriceMinor: 1250 },
    { sku: 'SKU-B', quantity: 1, unitPriceMinor: 4999 },
  ],
  destination: { name: 'Jan de Vries', street: 'Kade 1', city: 'Utrecht', postalCode: '3511 AA', country: 'NL' },
};

export function event<T extends ShipmentEvent['type']>(type: T, data: ShipmentEventOf<T>['data']): ShipmentEventOf<T> {
  return { type, data } as ShipmentEventOf<T>;
}

export const created = event('ShipmentCreated', { ...createData, totalMinor: 2 * 1250 + 4999 });
export const released = event('ReleasedForPicking', {});
export const pickedA1 = event('ItemPicked', { sku: 'SKU-A', quantity: 1, pickedForSku: 1 });
export const pickedA2 = event('ItemPicked', { sku: 'SKU-A', quantity: 1, pickedForSku: 2 });
export const pickedB1 = event('ItemPicked', { sku: 'SKU-B', quantity: 1, pickedForSku: 1 });
export const pickingCompleted = event('PickingCompleted', {});
export const packed = event('ShipmentPacked', { packageCount: 2 });
export const readyForShipping = event('ReadyForShipping', {});
export const shipped = event('ShipmentShipped', { carrier: 'PostNL', trackingNumber: '3SABC123', customerAccountId: 'ACC-9', totalMinor: 7499, currency: 'EUR' });
export const delivered = event('ShipmentDelivered', { receivedBy: 'J. de Vries' });

/**
 * A history that brings the shipment into each status, written out by hand. In `Picking`, one
 * unit of SKU-B is still to be picked.
 */
export const HISTORY = {
  None: [],
  Created: [created],
  PendingPicking: [created, released],
  Picking: [created, released, pickedA1, pickedA2],
  Picked: [created, released, pickedA1, pickedA2, pickedB1, pickingCompleted],
  Packed: [created, released, pickedA1, pickedA2, pickedB1, pickingCompleted, packed],
  ReadyForShipping: [created, released, pickedA1, pickedA2, pickedB1, pickingCompleted, packed, readyForShipping],
  Shipped: [created, released, pickedA1, pickedA2, pickedB1, pickingCompleted, packed, readyForShipping, shipped],
  Delivered: [created, released, pickedA1, pickedA2, pickedB1, pickingCompleted, packed, readyForShipping, shipped, delivered],
  Cancelled: [created, released, event('ShipmentCancelled', { reason: 'customer withdrew the order', fromStatus: 'PendingPicking' })],
} as const satisfies Record<string, readonly ShipmentEvent[]>;

/** A well-formed command of each type (the data alone would pass validation). */
export function sampleCommand(type: ShipmentCommandType, metadata: Partial<CommandMetadata> = {}): ShipmentCommand {
  switch (type) {
    case 'CreateShipment':
      return command(type, createData, metadata);
    case 'PickItem':
      return command(type, { sku: 'SKU-B', quantity: 1 }, metadata);
    case 'Pack':
      return command(type, { packageCount: 2 }, metadata);
    case 'Ship':
      return command(type, { carrier: 'PostNL', trackingNumber: '3SABC123' }, metadata);
    case 'ConfirmDelivery':
      return command(type, { receivedBy: 'J. de Vries' }, metadata);
    case 'Cancel':
      return command(type, { reason: 'customer withdrew the order' }, metadata);
    case 'CorrectStatus':
      return command(type, { toStatus: 'Packed', reason: 'scanned at the wrong station' }, { ...as('supervisor'), ...metadata });
    default:
      return command(type, {}, metadata);
  }
}
