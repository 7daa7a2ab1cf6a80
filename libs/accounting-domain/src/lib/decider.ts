import type { Decider } from '@waybill/util';
import {
  KIND_SIGN,
  TRANSACTION_KINDS,
  type AccountingRejection,
  type AccountState,
  type Duplicate,
  type RecordTransaction,
  type TransactionRecorded,
} from './transactions';

export function initialAccountState(accountId = ''): AccountState {
  return { accountId, exists: false, currency: null, balanceMinor: 0, version: 0 };
}

const CURRENCY = /^[A-Z]{3}$/;

/** Every bad field of a transaction, not just the first. */
export function validateTransaction(data: RecordTransaction['data']): Array<{ field: string; message: string }> {
  const errors: Array<{ field: string; message: string }> = [];
  const text = (field: keyof typeof data, max = 200) => {
    const value = data[field];
    if (typeof value !== 'string' || value.trim() === '' || value.length > max) errors.push({ field, message: `must be a non-empty string of at most ${max} characters` });
  };
  text('transactionId');
  text('accountId', 64);
  if (!(TRANSACTION_KINDS as readonly string[]).includes(data.kind)) errors.push({ field: 'kind', message: `must be one of ${TRANSACTION_KINDS.join(', ')}` });
  if (typeof data.amountMinor !== 'number' || !Number.isSafeInteger(data.amountMinor)) {
    errors.push({ field: 'amountMinor', message: 'must be a whole number of minor units (no fractions)' });
  } else {
    const sign = KIND_SIGN[data.kind];
    if (sign === 'positive' && data.amountMinor <= 0) errors.push({ field: 'amountMinor', message: `must be positive for a ${data.kind}` });
    if (sign === 'negative' && data.amountMinor >= 0) errors.push({ field: 'amountMinor', message: `must be negative for a ${data.kind} (it lowers what is owed)` });
    if (sign === 'non-zero' && data.amountMinor === 0) errors.push({ field: 'amountMinor', message: 'must not be zero' });
  }
  if (typeof data.currency !== 'string' || !CURRENCY.test(data.currency)) errors.push({ field: 'currency', message: 'must be an ISO 4217 code such as EUR' });
  if (data.kind === 'Adjustment' && (typeof data.reason !== 'string' || data.reason.trim() === '')) {
    errors.push({ field: 'reason', message: 'is required for an adjustment' });
  }
  return errors;
}

const reject = (code: AccountingRejection['code'], reason: string, fieldErrors: AccountingRejection['fieldErrors'] = []): AccountingRejection => ({
  kind: 'rejection',
  code,
  reason,
  fieldErrors,
});

export function isAccountingRejection(outcome: unknown): outcome is AccountingRejection {
  return typeof outcome === 'object' && outcome !== null && (outcome as { kind?: unknown }).kind === 'rejection';
}

export function isDuplicate(outcome: unknown): outcome is Duplicate {
  return typeof outcome === 'object' && outcome !== null && (outcome as { kind?: unknown }).kind === 'duplicate';
}

/**
 * Records a transaction, or says why not. `alreadyBooked` says whether the account booked this
 * transaction id before (every id, for all time: the caller looks it up by key, so the cost does
 * not grow with the account's history); such a command is a duplicate, checked first so a replay
 * never fails validation that changed meanwhile.
 */
export function decideTransaction(command: RecordTransaction, state: AccountState, alreadyBooked: boolean): readonly TransactionRecorded[] | AccountingRejection | Duplicate {
  const { data } = command;
  if (alreadyBooked) return { kind: 'duplicate', transactionId: data.transactionId };
  const fieldErrors = validateTransaction(data);
  if (fieldErrors.length) return reject('VALIDATION', `The transaction has ${fieldErrors.length} invalid field(s).`, fieldErrors);
  // Only a charge (a shipment leaving the warehouse) opens an account; money cannot arrive first.
  if (!state.exists && data.kind !== 'Charge') {
    return reject('NOT_FOUND', `Account ${data.accountId} does not exist yet; it opens with its first shipment charge.`);
  }
  if (state.currency !== null && state.currency !== data.currency) {
    return reject('CURRENCY_MISMATCH', `Account ${data.accountId} is kept in ${state.currency}; a ${data.currency} amount cannot be booked on it.`, [
      { field: 'currency', message: `must be ${state.currency}` },
    ]);
  }
  return [{ type: 'TransactionRecorded', data }];
}

/** Total and never throws. */
export function evolveAccount(state: AccountState, event: TransactionRecorded): AccountState {
  return {
    accountId: event.data.accountId,
    exists: true,
    currency: state.currency ?? event.data.currency,
    balanceMinor: state.balanceMinor + event.data.amountMinor,
    version: state.version + 1,
  };
}

/** An account with the ids it booked beside it, as the in-memory decider keeps them. */
export interface AccountWithHistory extends AccountState {
  bookedTransactionIds: readonly string[];
}

/**
 * The account decider in Emmett's shape, for specs and in-memory replays: it carries every booked
 * id in its state. accounting-command-listener keeps those ids in a keyed store instead and calls
 * decideTransaction with the one lookup it needs.
 */
export const accountDecider: Decider<AccountWithHistory, RecordTransaction, TransactionRecorded, AccountingRejection | Duplicate> = {
  decide: (command, state) => decideTransaction(command, state, state.bookedTransactionIds.includes(command.data.transactionId)),
  evolve: (state, event) => ({ ...evolveAccount(state, event), bookedTransactionIds: [...state.bookedTransactionIds, event.data.transactionId] }),
  initialState: () => ({ ...initialAccountState(), bookedTransactionIds: [] }),
};
