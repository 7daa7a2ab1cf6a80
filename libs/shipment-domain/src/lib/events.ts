import type { ShipmentDestination, ShipmentLine } from './commands';
import type { LifecycleStatus, ShipmentStatus } from './state';

interface Event<Type extends string, Data> {
  type: Type;
  data: Data;
}

export type ShipmentCreated = Event<
  'ShipmentCreated',
  {
    orderId: string;
    customerAccountId: string;
    currency: string;
    lines: ShipmentLine[];
    destination: ShipmentDestination;
    /** Sum of quantity × unitPriceMinor, minor units. */
    totalMinor: number;
  }
>;
export type ReleasedForPicking = Event<'ReleasedForPicking', Record<string, never>>;
export type ItemPicked = Event<
  'ItemPicked',
  {
    sku: string;
    quantity: number;
    /** How many of this sku are picked in total after this event. */
    pickedForSku: number;
  }
>;
export type PickingCompleted = Event<'PickingCompleted', Record<string, never>>;
export type ShipmentPacked = Event<'ShipmentPacked', { packageCount: number }>;
export type ReadyForShipping = Event<'ReadyForShipping', Record<string, never>>;
export type ShipmentShipped = Event<
  'ShipmentShipped',
  { carrier: string; trackingNumber: string; customerAccountId: string; totalMinor: number; currency: string }
>;
export type ShipmentDelivered = Event<'ShipmentDelivered', { receivedBy: string }>;
export type ShipmentCancelled = Event<'ShipmentCancelled', { reason: string; fromStatus: ShipmentStatus }>;
/**
 * The compensating event. It carries the account, total and currency so accounting can reverse or
 * re-charge without keeping its own copy of the shipment.
 */
export type StatusCorrected = Event<
  'StatusCorrected',
  {
    fromStatus: ShipmentStatus;
    toStatus: ShipmentStatus;
    reason: string;
    /** The supervisor's principal id (`metadata.initiatedBy`). */
    correctedBy: string;
    customerAccountId: string;
    totalMinor: number;
    currency: string;
  }
>;

/**
 * A system of record reported that the shipment moved to `toStatus` (an observation of kind
 * StatusChanged). `fromStatus` is `None` when Waybill had never seen the shipment.
 */
export type StatusObserved = Event<
  'StatusObserved',
  { fromStatus: LifecycleStatus; toStatus: ShipmentStatus; customerAccountId: string; totalMinor: number; currency: string }
>;

export type ShipmentEvent =
  | ShipmentCreated
  | ReleasedForPicking
  | ItemPicked
  | PickingCompleted
  | ShipmentPacked
  | ReadyForShipping
  | ShipmentShipped
  | ShipmentDelivered
  | ShipmentCancelled
  | StatusCorrected
  | StatusObserved;

export type ShipmentEventType = ShipmentEvent['type'];

/** The event of a given type, e.g. `ShipmentEventOf<'ItemPicked'>`. */
export type ShipmentEventOf<T extends ShipmentEventType> = Extract<ShipmentEvent, { type: T }>;

/** Every event type, in lifecycle order. */
export const SHIPMENT_EVENT_TYPES = [
  'ShipmentCreated',
  'ReleasedForPicking',
  'ItemPicked',
  'PickingCompleted',
  'ShipmentPacked',
  'ReadyForShipping',
  'ShipmentShipped',
  'ShipmentDelivered',
  'ShipmentCancelled',
  'StatusCorrected',
  'StatusObserved',
] as const satisfies readonly ShipmentEventType[];
