import type { ShipmentStatus } from '@waybill/shipment-domain';

/** The Redis key prefix of the ledger read models for a `TOPIC_PREFIX`: `${topicPrefix}ledger:`. */
export function ledgerKeyPrefix(topicPrefix = ''): string {
  return `${topicPrefix}ledger:`;
}

/** Every key the ledger projection writes, under one prefix (see apps/ledger/README.md). */
export interface LedgerKeys {
  prefix: string;
  /** hash `<logical topic>:<partition>` → next offset to read (everything before it is reflected). */
  offsets: string;
  /** string JSON `ShipmentSummary` (current state). */
  shipment(id: string): string;
  /** zset score = version, member = eventId. */
  shipmentEvents(id: string): string;
  /** zset score = effective time (running max of event timestamps), member = zero-padded version. */
  shipmentTimeline(id: string): string;
  /** zset score = version, member = JSON `StateSnapshot`, every `snapshotEvery` events. */
  shipmentSnapshots(id: string): string;
  /** zset score = recorded time (running max of the Kafka record timestamps), member = zero-padded version; `knownAt` looks up here. */
  shipmentRecorded(id: string): string;
  /** zset score = business time, member = zero-padded version: only the observed facts that arrived late. */
  shipmentLate(id: string): string;
  /** zset score 0, member = shipment id: every shipment, in id order. */
  shipments: string;
  /** zset score 0, member = shipment id: shipments currently in `status`. */
  status(status: ShipmentStatus): string;
  /** hash status → number of shipments currently in it. */
  statusCounts: string;
  /** string JSON `EventDoc`. */
  event(eventId: string): string;
  /** zset score 0, member = `<time>|<eventId>` (lexicographic = time order): every shipment event. */
  feed: string;
  feedByType(type: string): string;
  feedByUser(initiatedBy: string): string;
  /** zset score 0, member = `<time>|<kind>|<id>`: everything one trace caused. */
  trace(traceId: string): string;
  /** string JSON `OutcomeDoc`, keyed by the outcome's own id. */
  outcome(outcomeId: string): string;
  /** zset score 0, member = `<time>|<outcomeId>`: outcomes with `alert: true`. */
  alerts: string;
  /** string JSON `TransactionDoc`, keyed by transactionId. */
  transaction(transactionId: string): string;
  /** string JSON `AccountSummary`. */
  account(accountId: string): string;
  /** zset score = the account's transaction count after it, member = transactionId. */
  accountTransactions(accountId: string): string;
  /** zset score 0, member = account id. */
  accounts: string;
}

/** The key layout under `prefix` (normally `ledgerKeyPrefix(TOPIC_PREFIX)`). */
export function ledgerKeys(prefix: string): LedgerKeys {
  return {
    prefix,
    offsets: `${prefix}offsets`,
    shipment: (id) => `${prefix}shipment:${id}`,
    shipmentEvents: (id) => `${prefix}shipment:${id}:events`,
    shipmentTimeline: (id) => `${prefix}shipment:${id}:timeline`,
    shipmentSnapshots: (id) => `${prefix}shipment:${id}:snapshots`,
    shipmentRecorded: (id) => `${prefix}shipment:${id}:recorded`,
    shipmentLate: (id) => `${prefix}shipment:${id}:late`,
    shipments: `${prefix}shipments`,
    status: (status) => `${prefix}status:${status}`,
    statusCounts: `${prefix}status-counts`,
    event: (eventId) => `${prefix}event:${eventId}`,
    feed: `${prefix}feed`,
    feedByType: (type) => `${prefix}feed:type:${type}`,
    feedByUser: (user) => `${prefix}feed:user:${user}`,
    trace: (traceId) => `${prefix}trace:${traceId}`,
    outcome: (id) => `${prefix}outcome:${id}`,
    alerts: `${prefix}alerts`,
    transaction: (id) => `${prefix}transaction:${id}`,
    account: (id) => `${prefix}account:${id}`,
    accountTransactions: (id) => `${prefix}account:${id}:transactions`,
    accounts: `${prefix}accounts`,
  };
}

// Epoch ms has 13 digits until the year 2286; 15 keeps lexicographic order = numeric order.
const TIME_WIDTH = 15;

/** A time as a fixed-width string, so lexicographic zset order is time order. */
export function timeKey(epochMs: number): string {
  return String(Math.max(0, Math.trunc(epochMs))).padStart(TIME_WIDTH, '0');
}

/** Zero-padded version, so equal timeline scores still sort by version. */
export function versionKey(version: number): string {
  return String(version).padStart(12, '0');
}
