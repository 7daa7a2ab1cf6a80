import { balanceAsOf, foldBalance, type BookedTransaction } from './balance';

const booked = (version: number, amountMinor: number, timestamp: number, currency = 'EUR'): BookedTransaction => ({
  version,
  timestamp,
  data: { transactionId: `t-${version}`, accountId: 'ACC-1', amountMinor, currency },
});

describe('foldBalance', () => {
  it('adds signed amounts, keeps the first currency and first time, and takes the version and last id from the transaction', () => {
    const after = [booked(1, 7499, 100), booked(2, -2000, 200), booked(3, -499, 300, 'USD')].reduce(foldBalance, undefined);
    expect(after).toEqual({ accountId: 'ACC-1', balanceMinor: 5000, currency: 'EUR', version: 3, firstTransactionAt: 100, lastTransactionAt: 300, lastTransactionId: 't-3' });
  });
});

describe('balanceAsOf', () => {
  const history = [booked(1, 7499, 100), booked(2, -2000, 200), booked(3, -499, 300)];
  it('folds exactly the transactions booked by the instant', () => {
    expect(balanceAsOf(history, 200)).toMatchObject({ balanceMinor: 5499, version: 2, lastTransactionAt: 200 });
    expect(balanceAsOf(history, 299)).toMatchObject({ balanceMinor: 5499, version: 2 });
    expect(balanceAsOf(history, 300)).toMatchObject({ balanceMinor: 5000, version: 3 });
  });
  it('is undefined before the first transaction', () => {
    expect(balanceAsOf(history, 99)).toBeUndefined();
  });
});
