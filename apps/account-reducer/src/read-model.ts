import type { AccountBalance } from '@waybill/accounting-domain';
import type { TransactionKind } from '@waybill/contracts';

// NOTE: this app's keys alone: it writes them and answers every balance read from them
// (accounting-handler passes its reads on to this app's API).

/** Redis keys of the balances read model, under `${TOPIC_PREFIX}account-reducer`. */
export function readModelKeys(topicPrefix: string) {
  const root = `${topicPrefix}account-reducer`;
  return {
    /** hash: partition of `accounting.transactions` → next offset (every record before it is reflected). */
    offsets: `${root}:offsets`,
    /** string: JSON {@link AccountSnapshot}. */
    account: (accountId: string) => `${root}:account:${accountId}`,
    /** zset: score = account version after the transaction → JSON {@link TransactionEntry}. */
    transactions: (accountId: string) => `${root}:account:${accountId}:transactions`,
    /** Everything this app owns: delete it (with the reducer stopped) to rebuild from the topic. */
    pattern: `${root}:*`,
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
