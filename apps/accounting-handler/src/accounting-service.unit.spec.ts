import { toTransaction } from './accounting-service';

// A payment's reference and an adjustment's reason are one-line text: no control character, no
// lone surrogate; the account id is an id. Refused with 400 naming the field, nothing booked.

describe('toTransaction: the characters of text fields', () => {
  it.each(['\u0000', '\u0007', '\t', '\n', '\u001b', '\u007f', '\u0085', '\u009f'])('refuses %j in a reference and in a reason', (c) => {
    expect(toTransaction('Payment', 'ACC-1', { amountMinor: 100, currency: 'EUR', reference: `INV${c}1` }, 't1').fieldErrors).toEqual([{ field: 'reference', message: expect.stringMatching(/control characters/) }]);
    expect(toTransaction('Adjustment', 'ACC-1', { amountMinor: 100, currency: 'EUR', reason: `goodwill${c}` }, 't1').fieldErrors).toEqual([{ field: 'reason', message: expect.stringMatching(/control characters/) }]);
  });

  it('refuses a lone surrogate', () => {
    expect(toTransaction('Payment', 'ACC-1', { amountMinor: 100, currency: 'EUR', reference: 'INV-\ud800' }, 't1').fieldErrors).toEqual([{ field: 'reference', message: expect.stringMatching(/lone surrogate/) }]);
    expect(toTransaction('Adjustment', 'ACC-1', { amountMinor: 100, currency: 'EUR', reason: '\udfff' }, 't1').fieldErrors).toEqual([{ field: 'reason', message: expect.stringMatching(/lone surrogate/) }]);
  });

  it('refuses control characters in the account id', () => {
    expect(toTransaction('Payment', 'ACC\u00001', { amountMinor: 100, currency: 'EUR' }, 't1').fieldErrors.map((f) => f.field)).toContain('accountId');
  });

  it('keeps Unicode text exactly', () => {
    const { data, fieldErrors } = toTransaction('Adjustment', 'ACC-1', { amountMinor: 100, currency: 'EUR', reason: 'Zoë 山田 🚚 \u202e' }, 't1');
    expect(fieldErrors).toEqual([]);
    expect(data?.reason).toBe('Zoë 山田 🚚 \u202e');
  });
});
