import { idempotentCommandId, idempotentTransactionId } from './idempotency';

// Chaos seed 67030: a payment's produce lost its acknowledgement (the broker was killed after
// appending it), the handler gave the key back, and each retry got a fresh random command id. The
// first record was decided and answered under its own id, which no client polled: "202 pending"
// for 150 s. A retry with the same key must carry the same command id as the first attempt.
describe('ids of a request with an Idempotency-Key', () => {
  it('gives every retry of one key the command id (and transaction id) of the first attempt', () => {
    const first = idempotentCommandId('fay.finance', 'pay-74', 'FA-0');
    expect(idempotentCommandId('fay.finance', 'pay-74', 'FA-0')).toBe(first);
    expect(first).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(idempotentTransactionId('fay.finance', 'pay-74', 'FA-0')).toBe(idempotentTransactionId('fay.finance', 'pay-74', 'FA-0'));
  });

  it('keeps apart other principals, keys and accounts', () => {
    const ids = [
      idempotentCommandId('fay.finance', 'pay-74', 'FA-0'),
      idempotentCommandId('sue.supervisor', 'pay-74', 'FA-0'),
      idempotentCommandId('fay.finance', 'pay-75', 'FA-0'),
      idempotentCommandId('fay.finance', 'pay-74', 'FA-1'),
    ];
    expect(new Set(ids).size).toBe(ids.length);
  });
});
