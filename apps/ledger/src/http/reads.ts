import { TOPICS } from '@waybill/contracts';
import { LEDGER_TOPICS, type LedgerTopic } from '@waybill/ledger-projections';

/** What a query depends on, so what it may be asked to wait for. */
export interface ReadDependencies {
  /** The topics its data is projected from: `waitFor` positions on any other topic are refused. */
  readsFrom: readonly LedgerTopic[];
  /** A read of the one shipment named by the `id` path parameter: it takes that shipment's `readToken`. */
  ofShipment: boolean;
}

const shipmentEvents = { readsFrom: [TOPICS.shipmentEvents], ofShipment: false };
const oneShipment = { readsFrom: [TOPICS.shipmentEvents], ofShipment: true };

/**
 * Every query route (express paths) and what it depends on; the router and the OpenAPI document
 * both take it from here, so what a route accepts and what is documented cannot drift apart.
 */
export const QUERY_READS = {
  '/shipments': shipmentEvents,
  '/stats/status-counts': shipmentEvents,
  '/shipments/:id': oneShipment,
  '/shipments/:id/events': oneShipment,
  '/shipments/:id/diff': oneShipment,
  '/events': shipmentEvents,
  '/events/:eventId': shipmentEvents,
  '/traces/:traceId': { readsFrom: LEDGER_TOPICS, ofShipment: false },
  '/alerts': { readsFrom: [TOPICS.shipmentOutcomes], ofShipment: false },
  '/accounts/:id': { readsFrom: [TOPICS.accountingTransactions], ofShipment: false },
  // Each transaction comes with the shipment event that caused it.
  '/accounts/:id/transactions': { readsFrom: [TOPICS.accountingTransactions, TOPICS.shipmentEvents], ofShipment: false },
} as const satisfies Record<string, ReadDependencies>;

export type QueryPath = keyof typeof QUERY_READS;

/** The reads that take a `readToken`, for messages. */
export const SHIPMENT_READS = (Object.keys(QUERY_READS) as QueryPath[]).filter((path) => QUERY_READS[path].ofShipment);
