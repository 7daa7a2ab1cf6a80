import type { TransactionData } from './transactions';

/** Statuses in which a shipment's customer owes its total: it has left the warehouse. */
export const CHARGED_STATUSES: readonly string[] = ['Shipped', 'Delivered'];

/** What accounting needs to know of a shipment event (shipping owns the full event). */
export type ShipmentFact =
  | { type: 'ShipmentShipped'; eventId: string; shipmentId: string; customerAccountId: string; totalMinor: number; currency: string }
  | {
      /** A supervisor's correction, or a status change a system of record reported: money follows the status either way. */
      type: 'StatusCorrected' | 'StatusObserved';
      eventId: string;
      shipmentId: string;
      customerAccountId: string;
      totalMinor: number;
      currency: string;
      fromStatus: string;
      toStatus: string;
      reason: string;
    }
  | { type: 'Other'; eventId: string; shipmentId: string };

/**
 * The transaction a shipment event causes, if any: shipping charges the customer; a correction
 * that takes a shipment back out of Shipped/Delivered reverses the charge, and one that puts it
 * into Shipped/Delivered charges it. So a customer is charged exactly while the shipment is in a
 * charged status. Ids derive from the causing event, so a replayed event cannot charge twice.
 */
export function transactionFor(fact: ShipmentFact): TransactionData | undefined {
  if (fact.type === 'Other') return undefined;
  // A shipment with nothing to pay for moves no money: no zero charge (a charge must be positive).
  if (fact.totalMinor === 0) return undefined;
  const base = { accountId: fact.customerAccountId, currency: fact.currency, shipmentId: fact.shipmentId, sourceEventId: fact.eventId };
  if (fact.type === 'ShipmentShipped') {
    return { ...base, transactionId: `charge:${fact.eventId}`, kind: 'Charge', amountMinor: fact.totalMinor, reason: null };
  }
  const wasCharged = CHARGED_STATUSES.includes(fact.fromStatus);
  const isCharged = CHARGED_STATUSES.includes(fact.toStatus);
  if (wasCharged && !isCharged) {
    return { ...base, transactionId: `reversal:${fact.eventId}`, kind: 'ChargeReversal', amountMinor: -fact.totalMinor, reason: fact.reason };
  }
  if (!wasCharged && isCharged) {
    return { ...base, transactionId: `charge:${fact.eventId}`, kind: 'Charge', amountMinor: fact.totalMinor, reason: fact.reason };
  }
  return undefined;
}
