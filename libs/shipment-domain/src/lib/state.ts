import type { ShipmentDestination } from './commands';

/** Every status a shipment can be in once it exists, in lifecycle order. */
export const SHIPMENT_STATUSES = [
  'Created',
  'PendingPicking',
  'Picking',
  'Picked',
  'Packed',
  'ReadyForShipping',
  'Shipped',
  'Delivered',
  'Cancelled',
] as const;

/** A status of an existing shipment. */
export type ShipmentStatus = (typeof SHIPMENT_STATUSES)[number];

/** `'None'` is the status before `ShipmentCreated`: the shipment does not exist yet. */
export type LifecycleStatus = ShipmentStatus | 'None';

/**
 * The shape of `ShipmentState`. Bump it whenever `ShipmentState` or `evolve` changes meaning, so
 * snapshots written by an older shape are rebuilt from events instead of trusted.
 */
export const STATE_SHAPE_VERSION = 3;

/** One order line as the aggregate tracks it: how many were ordered and how many are picked. */
export interface LineState {
  sku: string;
  ordered: number;
  picked: number;
  unitPriceMinor: number;
}

/**
 * The folded state of one shipment. Plain JSON (no Dates, Maps or `undefined` values), since it is
 * stored as a Redis snapshot. Optional fields are absent until the event that sets them.
 */
export interface ShipmentState {
  status: LifecycleStatus;
  /** Number of events applied: 0 before creation, then 1, 2, 3 … */
  version: number;
  orderId: string;
  customerAccountId: string;
  /** ISO 4217, e.g. `EUR`. */
  currency: string;
  lines: LineState[];
  destination: ShipmentDestination;
  /** Sum of quantity × unitPriceMinor over all lines, in minor units. */
  totalMinor: number;
  packageCount?: number;
  carrier?: string;
  trackingNumber?: string;
  receivedBy?: string;
  cancelReason?: string;
  /** Set only when folding envelopes (`evolveEnvelope`): bare events carry no aggregate id. */
  shipmentId?: string;
  /** Epoch ms: the latest business time among the envelopes applied (their running maximum); set only by `evolveEnvelope`. */
  lastEventAt?: number;
  /**
   * Which status was in effect from which business time on, oldest first, adjacent repeats merged
   * (at most `STATUS_TIMELINE_LENGTH` entries); set only by `evolveEnvelope`. An observed fact that
   * arrives late takes its place here without moving the running status, and is judged against the
   * status in effect when it happened (docs/ARCHITECTURE.md §11).
   */
  statusTimeline?: StatusPeriod[];
}

/** From business time `at` (epoch ms) on, the shipment was `status`. */
export interface StatusPeriod {
  at: number;
  status: LifecycleStatus;
}

/** How many status periods a state keeps; a fact older than the oldest is judged against it. */
export const STATUS_TIMELINE_LENGTH = 64;

/** The state of a shipment that does not exist yet. */
export function initialState(): ShipmentState {
  return {
    status: 'None',
    version: 0,
    orderId: '',
    customerAccountId: '',
    currency: '',
    lines: [],
    destination: { name: '', street: '', city: '', postalCode: '', country: '' },
    totalMinor: 0,
  };
}

/** True for the nine real statuses (not `'None'`, not anything else). */
export function isShipmentStatus(value: unknown): value is ShipmentStatus {
  return typeof value === 'string' && (SHIPMENT_STATUSES as readonly string[]).includes(value);
}
