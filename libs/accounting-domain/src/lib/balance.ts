import type { TransactionData } from './transactions';

/** One account's balance as a read model keeps it: what its booked transactions add up to. */
export interface AccountBalance {
  accountId: string;
  balanceMinor: number;
  /** The currency of the account's first transaction; the listener refuses any other. */
  currency: string;
  /** Transactions applied; equals the version of the last one. */
  version: number;
  firstTransactionAt: number;
  lastTransactionAt: number;
  lastTransactionId: string;
}

/** What the balance fold needs of a booked transaction: a TransactionRecorded off the topic has it all. */
export interface BookedTransaction {
  /** The account's version after this transaction. */
  version: number;
  /** When it was booked. */
  timestamp: number;
  data: Pick<TransactionData, 'transactionId' | 'accountId' | 'amountMinor' | 'currency'>;
}

/**
 * The one balance fold: account-reducer's snapshots, the ledger's account summaries and every
 * as-of answer apply it, so a balance cannot differ by who computed it.
 */
export function foldBalance(balance: AccountBalance | undefined, transaction: BookedTransaction): AccountBalance {
  const { data } = transaction;
  return {
    accountId: data.accountId,
    balanceMinor: (balance?.balanceMinor ?? 0) + data.amountMinor,
    currency: balance?.currency ?? data.currency,
    version: transaction.version,
    firstTransactionAt: balance?.firstTransactionAt ?? transaction.timestamp,
    lastTransactionAt: transaction.timestamp,
    lastTransactionId: data.transactionId,
  };
}

/** The balance after every transaction booked by `at` (transactions in version order); undefined when none was. */
export function balanceAsOf(transactions: readonly BookedTransaction[], at: number): AccountBalance | undefined {
  return transactions.filter((t) => t.timestamp <= at).reduce<AccountBalance | undefined>(foldBalance, undefined);
}
