import type { AccountBalance } from '@waybill/accounting-domain';
import type { TransactionKind } from '@waybill/contracts';

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
