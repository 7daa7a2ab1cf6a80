import fc from 'fast-check';
import { CHARGED_STATUSES, transactionFor, type ShipmentFact } from './shipment-charges';

const STATUSES = ['Created', 'PendingPicking', 'Picking', 'Picked', 'Packed', 'ReadyForShipping', 'Shipped', 'Delivered', 'Cancelled'];
const base = { shipmentId: 'S-1', customerAccountId: 'ACC-1', totalMinor: 7499, currency: 'EUR' };

describe('transactionFor', () => {
  it('charges the shipment total when it ships, with an id derived from the event', () => {
    expect(transactionFor({ type: 'ShipmentShipped', eventId: 'c1:0', ...base })).toMatchObject({ transactionId: 'charge:c1:0', kind: 'Charge', amountMinor: 7499, accountId: 'ACC-1' });
  });

  it('reverses the charge when a correction takes a shipped shipment back, and does nothing for other events', () => {
    const fact: ShipmentFact = { type: 'StatusCorrected', eventId: 'c2:0', ...base, fromStatus: 'Shipped', toStatus: 'Packed', reason: 'wrong truck' };
    expect(transactionFor(fact)).toMatchObject({ transactionId: 'reversal:c2:0', kind: 'ChargeReversal', amountMinor: -7499, reason: 'wrong truck' });
    expect(transactionFor({ ...fact, fromStatus: 'Shipped', toStatus: 'Delivered' })).toBeUndefined();
    expect(transactionFor({ type: 'Other', eventId: 'c3:0', shipmentId: 'S-1' })).toBeUndefined();
  });

  it('books nothing for a shipment whose total is zero, shipped or corrected', () => {
    expect(transactionFor({ type: 'ShipmentShipped', eventId: 'z1:0', ...base, totalMinor: 0 })).toBeUndefined();
    expect(transactionFor({ type: 'StatusCorrected', eventId: 'z2:0', ...base, totalMinor: 0, fromStatus: 'Shipped', toStatus: 'Packed', reason: 'r' })).toBeUndefined();
  });

  it('keeps the net charged amount equal to the total exactly while the shipment is in a charged status', () => {
    // Any walk of ships and corrections: what was charged net equals total × [final status charged].
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...STATUSES), { minLength: 1, maxLength: 30 }), (walk) => {
        let status = 'Packed';
        let net = 0;
        walk.forEach((to, i) => {
          const fact: ShipmentFact =
            to === 'Shipped' && status === 'ReadyForShipping'
              ? { type: 'ShipmentShipped', eventId: `e${i}`, ...base }
              : { type: 'StatusCorrected', eventId: `e${i}`, ...base, fromStatus: status, toStatus: to, reason: 'r' };
          net += transactionFor(fact)?.amountMinor ?? 0;
          status = to;
        });
        expect(net).toBe(CHARGED_STATUSES.includes(status) ? base.totalMinor : 0);
      }),
    );
  });
});
