import type { AccountBalance, BookedTransaction } from '@waybill/accounting-domain';
import type { TransactionKind, TransactionRecorded } from '@waybill/contracts';

// NOTE: this app's keys alone: it writes them and answers every balance read from them
// (accounting-handler passes its reads on to this app's API).

/**
 * Redis keys of the balances read model, under `${TOPIC_PREFIX}account-reducer`. Each partition of
 * `accounting.transactions` keeps its accounts in a hash slot of its own (`{<root>:<partition>}`),
 * so the one atomic write of a chunk touches one slot of a Redis Cluster, and the read model
 * spreads over as many slots as the topic has partitions.
 */
export function readModelKeys(topicPrefix: string) {
  const root = `${topicPrefix}account-reducer`;
  const slot = (partition: number) => `{${root}:${partition}}`;
  return {
    /** hash: partition → next offset (every record of the partition before it is reflected). */
    offsets: (partition: number) => `${slot(partition)}:offsets`,
    /** string: JSON {@link AccountSnapshot}. */
    account: (partition: number, accountId: string) => `${slot(partition)}:account:${accountId}`,
    /** zset: score = account version after the transaction → JSON {@link TransactionEntry}. */
    transactions: (partition: number, accountId: string) => `${slot(partition)}:account:${accountId}:transactions`,
    /** zset: score = account version → {@link archivedMember} of a transaction past the retention window. */
    archived: (partition: number, accountId: string) => `${slot(partition)}:account:${accountId}:archived`,
    /** zset: score = the booking time of the oldest entry in the account's `transactions` → account id: what the retention window looks at. */
    archivable: (partition: number) => `${slot(partition)}:archivable`,
    /** Everything this app owns: delete it (with the reducer stopped) to rebuild from the topic. */
    pattern: `{${root}:*`,
    /** The layout before the hash slots (2026-12-02): its offsets hash, and all its keys, which the app deletes when it finds them. */
    legacy: { offsets: `${root}:offsets`, pattern: `${root}:*` },
  };
}

export interface Position {
  topic: string;
  partition: number;
  offset: string;
}

/** One account's balance as of the transactions it includes, and where the last of them sits. */
export interface AccountSnapshot extends AccountBalance {
  position: Position;
}

/** One transaction as finance sees it: what moved, the balance after it, and what caused it. */
export interface TransactionEntry {
  version: number;
  transactionId: string;
  eventId: string;
  kind: TransactionKind;
  amountMinor: number;
  currency: string;
  balanceAfterMinor: number;
  reason: string | null;
  shipmentId: string | null;
  sourceEventId: string | null;
  traceId: string;
  causationId: string;
  initiatedBy: string;
  timestamp: number;
  position: Position;
}

/** One transaction as finance sees it, from the record it was booked in. */
export function transactionEntry(event: TransactionRecorded, balanceAfterMinor: number, position: Position): TransactionEntry {
  return {
    version: event.version,
    transactionId: event.data.transactionId,
    eventId: event.eventId,
    kind: event.data.kind,
    amountMinor: event.data.amountMinor,
    currency: event.data.currency,
    balanceAfterMinor,
    reason: event.data.reason,
    shipmentId: event.data.shipmentId,
    sourceEventId: event.data.sourceEventId,
    traceId: event.traceId,
    causationId: event.causationId,
    initiatedBy: event.initiatedBy,
    timestamp: event.timestamp,
    position,
  };
}

/**
 * What stays in Redis of a transaction past the retention window: its amounts and time, enough to
 * fold balances at any instant without Kafka, and the offset to read the rest of it back from its
 * partition. Short on purpose: a zset keeps its compact encoding only while every member is under
 * 64 bytes (`zset-max-listpack-value`), and a transaction id alone may take most of that. The
 * currency is the account's (the command listener refuses any other).
 */
export interface ArchivedEntry {
  version: number;
  timestamp: number;
  amountMinor: number;
  balanceAfterMinor: number;
  offset: string;
}

/** `version|timestamp|amountMinor|balanceAfterMinor|offset`. */
export function archivedMember(entry: TransactionEntry): string {
  return [entry.version, entry.timestamp, entry.amountMinor, entry.balanceAfterMinor, entry.position.offset].join('|');
}

export function parseArchivedMember(member: string): ArchivedEntry {
  const [version, timestamp, amountMinor, balanceAfterMinor, offset] = member.split('|');
  return { version: Number(version), timestamp: Number(timestamp), amountMinor: Number(amountMinor), balanceAfterMinor: Number(balanceAfterMinor), offset };
}

/** A live entry as the one balance fold takes it. */
export function booked(accountId: string, entry: TransactionEntry): BookedTransaction {
  const { version, timestamp, transactionId, amountMinor, currency } = entry;
  return { version, timestamp, data: { transactionId, accountId, amountMinor, currency } };
}

/** An archived entry as the fold takes it, in the account's currency; its transaction id is in Kafka only (`transactionId` empty). */
export function bookedArchived(accountId: string, currency: string, entry: ArchivedEntry): BookedTransaction {
  const { version, timestamp, amountMinor } = entry;
  return { version, timestamp, data: { transactionId: '', accountId, amountMinor, currency } };
}
