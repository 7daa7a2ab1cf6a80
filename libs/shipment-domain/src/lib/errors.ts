import type { ShipmentCommandType } from './commands';
import type { LifecycleStatus } from './state';

/** Why a command was turned down, most general first in the order `decide` checks them. */
export const REJECTION_CODES = ['VALIDATION', 'NOT_FOUND', 'VERSION_CONFLICT', 'FORBIDDEN', 'INVALID_TRANSITION'] as const;
export type RejectionCode = (typeof REJECTION_CODES)[number];

/** One bad field: `field` is a path into `data` (`lines[1].quantity`) or `metadata.<name>`. */
export interface FieldError {
  field: string;
  message: string;
}

/**
 * A command the rules turn down. Nothing changes; the caller gets `reason`, a sentence a warehouse
 * person understands, and what is allowed instead. Returned by `decide`, never thrown.
 */
export interface Rejection {
  kind: 'rejection';
  code: RejectionCode;
  reason: string;
  currentStatus: LifecycleStatus;
  /** What the table allows from `currentStatus` (regardless of the caller's role). */
  allowedCommands: ShipmentCommandType[];
  currentVersion: number;
  /** Present for `VALIDATION`: every bad field, not just the first. */
  fieldErrors?: FieldError[];
}

/** Tells a rejection from a list of events (the `decide` outcome). */
export function isRejection(outcome: unknown): outcome is Rejection {
  return typeof outcome === 'object' && outcome !== null && !Array.isArray(outcome) && (outcome as { kind?: unknown }).kind === 'rejection';
}

/**
 * Whether the rejection is an attempt to break the rules that supervisors must see at once (a
 * forbidden transition or a role overstepping), rather than a mistyped field, a stale version or
 * an unknown shipment.
 */
export function raisesAlert(rejection: Pick<Rejection, 'code'>): boolean {
  return rejection.code === 'INVALID_TRANSITION' || rejection.code === 'FORBIDDEN';
}
