/** What moved money on an account. `amountMinor` is the signed change to what the customer owes. */
export const TRANSACTION_KINDS = ['Charge', 'ChargeReversal', 'Payment', 'Adjustment'] as const;
export type TransactionKind = (typeof TRANSACTION_KINDS)[number];

/** The sign each kind's amount must have: charges raise what is owed, payments lower it. */
export const KIND_SIGN = {
  Charge: 'positive',
  ChargeReversal: 'negative',
  Payment: 'negative',
  Adjustment: 'non-zero',
} as const satisfies Record<TransactionKind, 'positive' | 'negative' | 'non-zero'>;

export interface TransactionData {
  /** Derived from what caused it (an event id, an idempotency key): the dedupe key. */
  transactionId: string;
  accountId: string;
  kind: TransactionKind;
  amountMinor: number;
  /** ISO 4217. */
  currency: string;
  reason: string | null;
  shipmentId: string | null;
  sourceEventId: string | null;
}

export interface AccountingCommandMetadata {
  commandId: string;
  initiatedBy: string;
  role: string;
  traceId: string;
  causationId?: string;
  now: number;
}

/** The one accounting command: record a transaction (charge, reversal, payment or adjustment). */
export interface RecordTransaction {
  type: 'RecordTransaction';
  data: TransactionData;
  metadata: AccountingCommandMetadata;
}

export interface TransactionRecorded {
  type: 'TransactionRecorded';
  data: TransactionData;
}

export interface AccountState {
  accountId: string;
  /** An account exists from its first transaction; payments to an unknown account are refused. */
  exists: boolean;
  currency: string | null;
  balanceMinor: number;
  version: number;
}

/**
 * Bumped with AccountState's shape. 2: the booked transaction ids left the state (a store keeps
 * them by key beside it), so deciding costs the same on an account with a million transactions.
 */
export const ACCOUNT_STATE_SHAPE_VERSION = 2;

export type AccountingRejectionCode = 'VALIDATION' | 'NOT_FOUND' | 'CURRENCY_MISMATCH';

export interface AccountingRejection {
  kind: 'rejection';
  code: AccountingRejectionCode;
  reason: string;
  fieldErrors: Array<{ field: string; message: string }>;
}

/** A transaction id this account already applied: nothing happens, and the caller is told so. */
export interface Duplicate {
  kind: 'duplicate';
  transactionId: string;
}
