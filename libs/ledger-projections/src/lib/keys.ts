import type { ShipmentStatus } from '@waybill/shipment-domain';

/** The Redis key prefix of the ledger read models for a `TOPIC_PREFIX`: `${topicPrefix}ledger:`. */
export function ledgerKeyPrefix(topicPrefix = ''): string {
  return `${topicPrefix}ledger:`;
}

/**
 * Every key the ledger projection writes for the records of one partition number (see
 * apps/ledger/README.md). They share the hash tag `{<prefix><partition>}`, so one atomic write of a
 * chunk touches one slot of a Redis Cluster. The three topics the ledger reads are keyed so that
 * partition p of each holds the same shipments (events, outcomes) or accounts (transactions): p's
 * slot holds everything about them, and a reader looks in every partition's slot for a list.
 */
export interface LedgerKeys {
  /** The partition number these keys belong to. */
  partition: number;
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
  /** zset score = recorded time, member = outcome id: every outcome about the shipment, so archiving it finds them. */
  shipmentOutcomes(id: string): string;
  /** zset score 0, member = shipment id: every shipment, in id order. */
  shipments: string;
  /**
   * zset score = the shipment's last recorded time, member = shipment id: shipments in a terminal
   * status whose events Redis still holds, oldest first: what the retention window archives.
   */
  archivable: string;
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
  /** zset score = the account's version after it, member = `<offset>|<transactionId>`: transactions past the retention window, read back from accounting.transactions at that offset of this partition. */
  accountArchived(accountId: string): string;
  /** zset score = booking time, member = transactionId: the transactions the retention window will archive. */
  archivableTransactions: string;
  /** zset score 0, member = account id. */
  accounts: string;
}

/** The keys of partition `partition` under `prefix` (normally `ledgerKeyPrefix(TOPIC_PREFIX)`). */
export function ledgerKeys(prefix: string, partition: number): LedgerKeys {
  const slot = `{${prefix}${partition}}:`;
  return {
    partition,
    offsets: `${slot}offsets`,
    shipment: (id) => `${slot}shipment:${id}`,
    shipmentEvents: (id) => `${slot}shipment:${id}:events`,
    shipmentTimeline: (id) => `${slot}shipment:${id}:timeline`,
    shipmentSnapshots: (id) => `${slot}shipment:${id}:snapshots`,
    shipmentRecorded: (id) => `${slot}shipment:${id}:recorded`,
    shipmentLate: (id) => `${slot}shipment:${id}:late`,
    shipmentOutcomes: (id) => `${slot}shipment:${id}:outcomes`,
    shipments: `${slot}shipments`,
    archivable: `${slot}archivable`,
    status: (status) => `${slot}status:${status}`,
    statusCounts: `${slot}status-counts`,
    event: (eventId) => `${slot}event:${eventId}`,
    feed: `${slot}feed`,
    feedByType: (type) => `${slot}feed:type:${type}`,
    feedByUser: (user) => `${slot}feed:user:${user}`,
    trace: (traceId) => `${slot}trace:${traceId}`,
    outcome: (id) => `${slot}outcome:${id}`,
    alerts: `${slot}alerts`,
    transaction: (id) => `${slot}transaction:${id}`,
    account: (id) => `${slot}account:${id}`,
    accountTransactions: (id) => `${slot}account:${id}:transactions`,
    accountArchived: (id) => `${slot}account:${id}:archived`,
    archivableTransactions: `${slot}archivable-transactions`,
    accounts: `${slot}accounts`,
  };
}

/** The partition and shipment id of a shipment summary key (`ledgerKeys(prefix, p).shipment(id)`); undefined for any other key. */
export function shipmentOfKey(prefix: string, key: string): { partition: number; shipmentId: string } | undefined {
  const head = `{${prefix}`;
  if (!key.startsWith(head)) return undefined;
  const match = /^(\d+)\}:shipment:([^:]+)$/.exec(key.slice(head.length));
  return match ? { partition: Number(match[1]), shipmentId: match[2] } : undefined;
}

/** What every key of the ledger read models under `prefix` starts with, whatever its partition: SCAN for it to list them all. */
export function ledgerKeyspacePrefix(prefix: string): string {
  return `{${prefix}`;
}

/**
 * The layout before the hash slots (2026-12-02): one offsets hash for all partitions, every key
 * under `prefix`. The ledger deletes it when it finds it, and projects the topics again.
 */
export function legacyLedgerLayout(prefix: string): { offsets: string; pattern: string } {
  return { offsets: `${prefix}offsets`, pattern: `${prefix}*` };
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
