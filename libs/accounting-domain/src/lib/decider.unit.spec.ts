import { deciderSpec } from '@waybill/util';
import { accountDecider, decideTransaction, isAccountingRejection, isDuplicate } from './decider';
import type { RecordTransaction, TransactionData, TransactionRecorded } from './transactions';

const given = deciderSpec(accountDecider, (o): o is never => isAccountingRejection(o) || isDuplicate(o));
const tx = (overrides: Partial<TransactionData>): TransactionData => ({
  transactionId: 't-1',
  accountId: 'ACC-1',
  kind: 'Charge',
  amountMinor: 7499,
  currency: 'EUR',
  reason: null,
  shipmentId: '1345693',
  sourceEventId: 'cmd-9:0',
  ...overrides,
});
const record = (data: TransactionData): RecordTransaction => ({
  type: 'RecordTransaction',
  data,
  metadata: { commandId: `c-${data.transactionId}`, initiatedBy: 'fay.finance', role: 'finance', traceId: 'tr', now: 1 },
});
const recorded = (data: TransactionData): TransactionRecorded => ({ type: 'TransactionRecorded', data });
const charged = recorded(tx({}));

describe('When the account does not exist yet', () => {
  it('opens it with a shipment charge', () => {
    given([]).when(record(tx({}))).then([charged]);
  });
  it('refuses a payment with NOT_FOUND', () => {
    given([]).when(record(tx({ transactionId: 'p-1', kind: 'Payment', amountMinor: -100 }))).thenRejects((r) => isAccountingRejection(r) && r.code === 'NOT_FOUND');
  });
});

describe('When the account holds a charge', () => {
  it('records a payment as a negative change', () => {
    const payment = tx({ transactionId: 'p-1', kind: 'Payment', amountMinor: -5000, shipmentId: null, sourceEventId: null });
    given([charged]).when(record(payment)).then([recorded(payment)]);
  });

  it('drops a transaction id it already has, whatever else the command says', () => {
    given([charged]).when(record(tx({ amountMinor: 1 }))).thenRejects((r) => isDuplicate(r) && r.transactionId === 't-1');
  });

  it.each([
    ['a fractional amount', { amountMinor: 12.5 }, 'amountMinor'],
    ['a positive payment', { kind: 'Payment' as const, amountMinor: 100 }, 'amountMinor'],
    ['a zero adjustment', { kind: 'Adjustment' as const, amountMinor: 0, reason: 'x' }, 'amountMinor'],
    ['an adjustment without a reason', { kind: 'Adjustment' as const, amountMinor: -10, reason: null }, 'reason'],
    ['a lower-case currency', { currency: 'eur' }, 'currency'],
  ])('refuses %s, naming the field', (_label, overrides, field) => {
    given([charged])
      .when(record(tx({ transactionId: 'bad', ...overrides })))
      .thenRejects((r) => isAccountingRejection(r) && r.code === 'VALIDATION' && r.fieldErrors.some((f) => f.field === field));
  });

  it('refuses another currency than the account is kept in', () => {
    given([charged])
      .when(record(tx({ transactionId: 'usd', kind: 'Payment', amountMinor: -1, currency: 'USD' })))
      .thenRejects((r) => isAccountingRejection(r) && r.code === 'CURRENCY_MISMATCH');
  });
});

describe('decideTransaction', () => {
  it('is a duplicate exactly when the caller says the id was booked, whatever the account looks like', () => {
    const account = accountDecider.evolve(accountDecider.initialState(), charged);
    expect(decideTransaction(record(tx({ transactionId: 'new' })), account, true)).toEqual({ kind: 'duplicate', transactionId: 'new' });
    expect(decideTransaction(record(tx({ transactionId: 'new' })), account, false)).toEqual([recorded(tx({ transactionId: 'new' }))]);
  });
});

describe('evolve', () => {
  it('sums the signed amounts and counts versions', () => {
    const state = [charged, recorded(tx({ transactionId: 'p', kind: 'Payment', amountMinor: -499 }))].reduce(accountDecider.evolve, accountDecider.initialState());
    expect(state).toMatchObject({ exists: true, balanceMinor: 7000, version: 2, currency: 'EUR', bookedTransactionIds: ['t-1', 'p'] });
  });
});
