import type { ShipmentEvent } from './events';
import type { LineState, ShipmentState } from './state';
import { isShipmentStatus } from './state';

function withPicked(lines: readonly LineState[], sku: string, quantity: number, pickedForSku: number): LineState[] {
  return lines.map((line) => {
    if (line.sku !== sku) return line;
    // Prefer the absolute total the event carries; fall back to adding when it is missing.
    const picked = Number.isFinite(pickedForSku) ? pickedForSku : line.picked + (Number.isFinite(quantity) ? quantity : 0);
    return { ...line, picked };
  });
}

function unknownEvent(state: ShipmentState, _event: never): ShipmentState {
  return state;
}

function apply(state: ShipmentState, event: ShipmentEvent): ShipmentState {
  switch (event.type) {
    case 'ShipmentCreated': {
      const { orderId, customerAccountId, currency, lines, destination, totalMinor } = event.data;
      return {
        ...state,
        status: 'Created',
        orderId,
        customerAccountId,
        currency,
        lines: (Array.isArray(lines) ? lines : [])
          .filter((line) => typeof line === 'object' && line !== null)
          .map((line) => ({
          sku: line.sku,
          ordered: line.quantity,
          picked: 0,
            unitPriceMinor: line.unitPriceMinor,
          })),
        destination: { ...state.destination, ...destination },
        totalMinor,
      };
    }
    case 'ReleasedForPicking':
      return { ...state, status: 'PendingPicking' };
    case 'ItemPicked':
      return { ...state, status: 'Picking', lines: withPicked(state.lines, event.data.sku, event.data.quantity, event.data.pickedForSku) };
    case 'PickingCompleted':
      return { ...state, status: 'Picked' };
    case 'ShipmentPacked':
      return { ...state, status: 'Packed', packageCount: event.data.packageCount };
    case 'ReadyForShipping':
      return { ...state, status: 'ReadyForShipping' };
    case 'ShipmentShipped':
      return { ...state, status: 'Shipped', carrier: event.data.carrier, trackingNumber: event.data.trackingNumber };
    case 'ShipmentDelivered':
      return { ...state, status: 'Delivered', receivedBy: event.data.receivedBy };
    case 'ShipmentCancelled':
      return { ...state, status: 'Cancelled', cancelReason: event.data.reason };
    case 'StatusCorrected':
      // A correction fixes the status only: picked counts, packages and tracking stay as they were,
      // because the goods did not move when the record was corrected.
      return isShipmentStatus(event.data.toStatus) ? { ...state, status: event.data.toStatus } : state;
    case 'StatusObserved':
      // Like a correction: the source moved the status and nothing else.
      return isShipmentStatus(event.data.toStatus) ? { ...state, status: event.data.toStatus } : state;
    default:
      return unknownEvent(state, event);
  }
}

/**
 * Applies one bare event (`{ type, data }`) and counts it: the version goes up by exactly one per
 * event, whatever the event. Total: an event it cannot make sense of still counts but changes
 * nothing else, so a restore never stalls on one odd record.
 */
export function evolve(state: ShipmentState, event: ShipmentEvent): ShipmentState {
  const wellFormed = typeof event === 'object' && event !== null && typeof event.data === 'object' && event.data !== null;
  const next = wellFormed ? apply(state, event) : state;
  return { ...next, version: state.version + 1 };
}
