import type { ShipmentStatus } from './state';

/**
 * The roles a principal can hold (the same six as `@waybill/platform`'s auth). `integration` is a
 * system of record's feed: it reports observations and may send no command.
 */
export const SHIPMENT_ROLES = ['viewer', 'associate', 'team-lead', 'supervisor', 'finance', 'integration'] as const;
export type ShipmentRole = (typeof SHIPMENT_ROLES)[number];

/** What the handler stamps on every command. Time and ids arrive here; the domain makes none. */
export interface CommandMetadata {
  /** Unique; also the idempotency key, and the root of the ids of the events it causes. */
  commandId: string;
  shipmentId: string;
  /** The authenticated principal, never taken from the request body. */
  initiatedBy: string;
  role: ShipmentRole;
  traceId: string;
  causationId?: string;
  /** Optimistic concurrency: the version the caller last saw (0 = "must not exist yet"). */
  expectedVersion?: number;
  /** Epoch ms. */
  now: number;
}

export interface ShipmentLine {
  sku: string;
  /** Positive integer. */
  quantity: number;
  /** Non-negative integer, minor units of the shipment's currency. */
  unitPriceMinor: number;
}

export interface ShipmentDestination {
  name: string;
  street: string;
  city: string;
  postalCode: string;
  /** ISO 3166-1 alpha-2, e.g. `NL`. */
  country: string;
}

interface Command<Type extends string, Data> {
  type: Type;
  data: Data;
  metadata: CommandMetadata;
}

export type CreateShipment = Command<
  'CreateShipment',
  {
    orderId: string;
    customerAccountId: string;
    /** ISO 4217: three upper-case letters. */
    currency: string;
    /** At least one line; skus unique. */
    lines: ShipmentLine[];
    destination: ShipmentDestination;
  }
>;
export type ReleaseForPicking = Command<'ReleaseForPicking', Record<string, never>>;
export type PickItem = Command<'PickItem', { sku: string; quantity: number }>;
export type CompletePicking = Command<'CompletePicking', Record<string, never>>;
export type Pack = Command<'Pack', { packageCount: number }>;
export type MarkReadyForShipping = Command<'MarkReadyForShipping', Record<string, never>>;
export type Ship = Command<'Ship', { carrier: string; trackingNumber: string }>;
export type ConfirmDelivery = Command<'ConfirmDelivery', { receivedBy: string }>;
export type Cancel = Command<'Cancel', { reason: string }>;
export type CorrectStatus = Command<'CorrectStatus', { toStatus: ShipmentStatus; reason: string }>;

export type ShipmentCommand =
  | CreateShipment
  | ReleaseForPicking
  | PickItem
  | CompletePicking
  | Pack
  | MarkReadyForShipping
  | Ship
  | ConfirmDelivery
  | Cancel
  | CorrectStatus;

export type ShipmentCommandType = ShipmentCommand['type'];

/** The command of a given type, e.g. `ShipmentCommandOf<'PickItem'>`. */
export type ShipmentCommandOf<T extends ShipmentCommandType> = Extract<ShipmentCommand, { type: T }>;

/** Every command type, in lifecycle order. */
export const SHIPMENT_COMMAND_TYPES = [
  'CreateShipment',
  'ReleaseForPicking',
  'PickItem',
  'CompletePicking',
  'Pack',
  'MarkReadyForShipping',
  'Ship',
  'ConfirmDelivery',
  'Cancel',
  'CorrectStatus',
] as const satisfies readonly ShipmentCommandType[];

export function isShipmentCommandType(value: unknown): value is ShipmentCommandType {
  return typeof value === 'string' && (SHIPMENT_COMMAND_TYPES as readonly string[]).includes(value);
}

/** What a system of record can report about a shipment (docs/ARCHITECTURE.md §11; `observations.ts`). */
export const OBSERVED_FACT_KINDS = ['Created', 'StatusChanged', 'LinePicked', 'Packed', 'Shipped', 'Delivered', 'Cancelled'] as const;
export type ObservedFactKind = (typeof OBSERVED_FACT_KINDS)[number];
