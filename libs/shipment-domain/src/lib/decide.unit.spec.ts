import type { Rejection } from './errors';
import { raisesAlert } from './errors';
import {
  HISTORY,
  as,
  command,
  createData,
  created,
  delivered,
  given,
  pickedA1,
  pickedA2,
  pickedB1,
  released,
} from './fixtures.spec';

const hasCode = (code: Rejection['code']) => (r: Rejection) => r.code === code;

describe('When the shipment does not exist', () => {
  it('creates it with the total of all lines', () => {
    given([])
      .when(command('CreateShipment', createData))
      .then([
        {
          type: 'ShipmentCreated',
          data: {
            orderId: 'ORD-77',
            customerAccountId: 'ACC-9',
            currency: 'EUR',
            lines: [
              { sku: 'SKU-A', quantity: 2, unitPriceMinor: 1250 },
              { sku: 'SKU-B', quantity: 1, unitPriceMinor: 4999 },
            ],
            destination: { name: 'Jan de Vries', street: 'Kade 1', city: 'Utrecht', postalCode: '3511 AA', country: 'NL' },
            totalMinor: 7499,
          },
        },
      ]);
  });

  it('copies only the known fields of lines and destination into the event', () => {
    const noisy = {
      ...createData,
      lines: [{ sku: 'SKU-A', quantity: 1, unitPriceMinor: 100, note: 'fragile' }],
      destination: { ...createData.destination, phone: '+31 6' },
    };
    const [event] = given([]).when(command('CreateShipment', noisy)).then([
      {
        type: 'ShipmentCreated',
        data: { ...createData, lines: [{ sku: 'SKU-A', quantity: 1, unitPriceMinor: 100 }], totalMinor: 100 },
      },
    ]);
    expect(event.data).not.toHaveProperty('lines.0.note');
  });

  it('accepts expectedVersion 0 as "must not exist yet"', () => {
    given([]).when(command('CreateShipment', createData, { expectedVersion: 0 })).then([{ type: 'ShipmentCreated', data: { ...createData, totalMinor: 7499 } }]);
  });

  it('rejects any other command as NOT_FOUND', () => {
    const r = given([]).when(command('Cancel', { reason: 'duplicate order' })).thenRejects(hasCode('NOT_FOUND'));
    expect(r.reason).toBe('Shipment 1345693 does not exist; it has to be created (CreateShipment) before Cancel.');
    expect(r.allowedCommands).toEqual(['CreateShipment']);
    expect(r.currentStatus).toBe('None');
    expect(raisesAlert(r)).toBe(false);
  });

  it('says NOT_FOUND before FORBIDDEN, even for a viewer', () => {
    given([]).when(command('ReleaseForPicking', {}, as('viewer'))).thenRejects(hasCode('NOT_FOUND'));
  });

  it('does not let a viewer create one', () => {
    const r = given([]).when(command('CreateShipment', createData, as('viewer', 'vera'))).thenRejects(hasCode('FORBIDDEN'));
    expect(r.reason).toContain('vera (viewer) may not send CreateShipment');
    expect(raisesAlert(r)).toBe(true);
  });
});

describe('When creating with bad data', () => {
  it('names every bad field', () => {
    const r = given([])
      .when(
        command('CreateShipment', {
          orderId: ' ',
          customerAccountId: 'ACC-9',
          currency: 'eur',
          lines: [
            { sku: 'SKU-A', quantity: 1, unitPriceMinor: 100 },
            { sku: 'SKU-B', quantity: 0, unitPriceMinor: -5 },
            { sku: 'SKU-A', quantity: 1.5, unitPriceMinor: 10 },
          ],
          destination: { name: 'Jan', street: 'Kade 1', city: '', postalCode: '3511 AA', country: 'Netherlands' },
        }),
      )
      .thenRejects(hasCode('VALIDATION'));
    expect(r.fieldErrors?.map((e) => e.field)).toEqual([
      'orderId',
      'currency',
      'lines[1].quantity',
      'lines[1].unitPriceMinor',
      'lines[2].sku',
      'lines[2].quantity',
      'destination.city',
      'destination.country',
    ]);
    expect(r.fieldErrors?.find((e) => e.field === 'lines[2].sku')?.message).toContain('repeats SKU-A from lines[0]');
    expect(r.reason).toMatch(/^CreateShipment for shipment 1345693 has 8 invalid fields: orderId is required/);
    expect(raisesAlert(r)).toBe(false);
  });

  it('needs at least one line and a destination', () => {
    const r = given([])
      .when(command('CreateShipment', { ...createData, lines: [], destination: undefined as never }))
      .thenRejects(hasCode('VALIDATION'));
    expect(r.fieldErrors?.map((e) => e.field)).toEqual(['lines', 'destination']);
  });

  it('refuses a price or a total a long cannot carry (past 2^52 - 1), which would not encode as ShipmentCreated', () => {
    const max = 2 ** 52 - 1;
    const price = given([])
      .when(command('CreateShipment', { ...createData, lines: [{ sku: 'GOLD', quantity: 1000, unitPriceMinor: Number.MAX_SAFE_INTEGER }] }))
      .thenRejects(hasCode('VALIDATION'));
    expect(price.fieldErrors).toEqual([{ field: 'lines[0].unitPriceMinor', message: `must be a whole number of minor units from 0 to ${max}` }]);
    // Each price fits, the total (2^52) does not: what once passed validation and stopped the reducer's partition.
    const total = given([])
      .when(command('CreateShipment', { ...createData, lines: [{ sku: 'A', quantity: 1, unitPriceMinor: 2 ** 51 }, { sku: 'B', quantity: 1, unitPriceMinor: 2 ** 51 }] }))
      .thenRejects(hasCode('VALIDATION'));
    expect(total.fieldErrors).toEqual([{ field: 'lines', message: `the total must be at most ${max} minor units` }]);
    const lines = [{ sku: 'A', quantity: 1, unitPriceMinor: 2 ** 51 }, { sku: 'B', quantity: 1, unitPriceMinor: 2 ** 51 - 1 }];
    given([]).when(command('CreateShipment', { ...createData, lines })).then([{ type: 'ShipmentCreated', data: { ...createData, lines, totalMinor: max } }]);
  });

  it('checks metadata too: blank ids, an unknown role and a negative expectedVersion', () => {
    const r = given([])
      .when(command('CreateShipment', createData, { commandId: '', role: 'intern' as never, expectedVersion: -1 }))
      .thenRejects(hasCode('VALIDATION'));
    expect(r.fieldErrors?.map((e) => e.field)).toEqual(['metadata.commandId', 'metadata.role', 'metadata.expectedVersion']);
  });

  it('rejects a command type it does not know instead of throwing', () => {
    const r = given([]).when({ type: 'Teleport', data: {}, metadata: command('Pack', { packageCount: 1 }).metadata } as never).thenRejects(hasCode('VALIDATION'));
    expect(r.fieldErrors).toEqual([{ field: 'type', message: 'is not a shipment command' }]);
  });

  it('validates before anything else: bad data on a missing shipment is VALIDATION, not NOT_FOUND', () => {
    given([]).when(command('PickItem', { sku: '', quantity: 1 })).thenRejects(hasCode('VALIDATION'));
  });
});

describe('When Created', () => {
  it('is released for picking', () => {
    given([created]).when(command('ReleaseForPicking', {})).then([{ type: 'ReleasedForPicking', data: {} }]);
  });

  it('cannot be created again (VERSION_CONFLICT)', () => {
    const r = given([created]).when(command('CreateShipment', createData)).thenRejects(hasCode('VERSION_CONFLICT'));
    expect(r.reason).toBe('Shipment 1345693 already exists (Created, version 1); CreateShipment only starts a new shipment.');
    expect(r.currentVersion).toBe(1);
  });

  it('rejects a stale expectedVersion before looking at the table', () => {
    const r = given([created, released]).when(command('ReleaseForPicking', {}, { expectedVersion: 1 })).thenRejects(hasCode('VERSION_CONFLICT'));
    expect(r.reason).toContain('is at version 2 but ReleaseForPicking expected version 1');
    expect(raisesAlert(r)).toBe(false);
  });

  it('accepts the current expectedVersion', () => {
    given([created]).when(command('ReleaseForPicking', {}, { expectedVersion: 1 })).then([{ type: 'ReleasedForPicking', data: {} }]);
  });

  it('cannot be picked before release', () => {
    given([created]).when(command('PickItem', { sku: 'SKU-A', quantity: 1 })).thenRejects((r) => r.code === 'INVALID_TRANSITION' && r.reason.includes('Picking cannot be reached from Created with PickItem'));
  });

  it('is cancelled with the reason and the status it was in', () => {
    given([created]).when(command('Cancel', { reason: 'customer withdrew the order' })).then([{ type: 'ShipmentCancelled', data: { reason: 'customer withdrew the order', fromStatus: 'Created' } }]);
  });

  it('is not cancelled without a reason', () => {
    const r = given([created]).when(command('Cancel', { reason: '   ' })).thenRejects(hasCode('VALIDATION'));
    expect(r.fieldErrors).toEqual([{ field: 'reason', message: 'is required and must not be blank' }]);
  });

  it('does not take commands from finance', () => {
    given([created]).when(command('Cancel', { reason: 'unpaid' }, as('finance'))).thenRejects(hasCode('FORBIDDEN'));
  });
});

describe('When PendingPicking', () => {
  it('picks an item and records the running total for the sku', () => {
    given([created, released]).when(command('PickItem', { sku: 'SKU-A', quantity: 2 })).then([{ type: 'ItemPicked', data: { sku: 'SKU-A', quantity: 2, pickedForSku: 2 } }]);
  });

  it('rejects picking more than ordered in one go', () => {
    given([created, released]).when(command('PickItem', { sku: 'SKU-B', quantity: 2 })).thenRejects(hasCode('INVALID_TRANSITION'));
  });

  it('rejects an sku that is not on the shipment as VALIDATION on the sku field', () => {
    const r = given([created, released]).when(command('PickItem', { sku: 'SKU-Z', quantity: 1 })).thenRejects(hasCode('VALIDATION'));
    expect(r.fieldErrors).toEqual([{ field: 'sku', message: 'is not on this shipment (its SKUs: SKU-A, SKU-B)' }]);
    expect(raisesAlert(r)).toBe(false);
  });

  it('rejects a non-positive quantity', () => {
    given([created, released]).when(command('PickItem', { sku: 'SKU-A', quantity: 0 })).thenRejects((r) => r.fieldErrors?.[0]?.field === 'quantity');
  });
});

describe('When Picking', () => {
  it('keeps picking the rest of a line', () => {
    given([created, released, pickedA1]).when(command('PickItem', { sku: 'SKU-A', quantity: 1 })).then([{ type: 'ItemPicked', data: { sku: 'SKU-A', quantity: 1, pickedForSku: 2 } }]);
  });

  it('never picks more of an sku than ordered, and says how many are left', () => {
    const r = given([created, released, pickedA1]).when(command('PickItem', { sku: 'SKU-A', quantity: 2 })).thenRejects(hasCode('INVALID_TRANSITION'));
    expect(r.reason).toBe(
      'Shipment 1345693 is Picking; picking 2 of SKU SKU-A would make 3 picked but only 2 were ordered (1 already picked, 1 left to pick). ' +
        'Allowed from Picking: PickItem, CompletePicking, Cancel, CorrectStatus.',
    );
    expect(raisesAlert(r)).toBe(true);
  });

  it('rejects a pick of a line that is already complete', () => {
    given([created, released, pickedA1, pickedA2]).when(command('PickItem', { sku: 'SKU-A', quantity: 1 })).thenRejects((r) => r.code === 'INVALID_TRANSITION' && r.reason.includes('0 left to pick'));
  });

  it('does not complete picking before every line is fully picked', () => {
    const r = given([created, released, pickedA1]).when(command('CompletePicking', {})).thenRejects(hasCode('INVALID_TRANSITION'));
    expect(r.reason).toContain('SKU SKU-A has 1 of 2 picked, SKU SKU-B has 0 of 1 picked');
    expect(raisesAlert(r)).toBe(true);
  });

  it('completes picking once every line is fully picked', () => {
    given([created, released, pickedA1, pickedB1, pickedA2]).when(command('CompletePicking', {})).then([{ type: 'PickingCompleted', data: {} }]);
  });

  it('can be cancelled mid-pick', () => {
    given([created, released, pickedA1]).when(command('Cancel', { reason: 'damaged stock' })).then([{ type: 'ShipmentCancelled', data: { reason: 'damaged stock', fromStatus: 'Picking' } }]);
  });
});

describe('When Picked', () => {
  it('is packed into packages', () => {
    given(HISTORY.Picked).when(command('Pack', { packageCount: 3 })).then([{ type: 'ShipmentPacked', data: { packageCount: 3 } }]);
  });

  it('needs at least one package', () => {
    given(HISTORY.Picked).when(command('Pack', { packageCount: 0 })).thenRejects((r) => r.code === 'VALIDATION' && r.fieldErrors?.[0]?.field === 'packageCount');
  });
});

describe('When Packed', () => {
  it('rejects a team lead moving it back to PendingPicking, naming status and allowed commands', () => {
    const r = given(HISTORY.Packed).when(command('ReleaseForPicking', {}, as('team-lead', 'tom'))).thenRejects(hasCode('INVALID_TRANSITION'));
    expect(r.reason).toBe(
      'Shipment 1345693 is Packed; PendingPicking cannot be reached from Packed with ReleaseForPicking. ' +
        'Allowed from Packed: MarkReadyForShipping, Cancel, CorrectStatus.',
    );
    expect(r.currentStatus).toBe('Packed');
    expect(r.allowedCommands).toEqual(['MarkReadyForShipping', 'Cancel', 'CorrectStatus']);
    expect(r.currentVersion).toBe(7);
    expect(raisesAlert(r)).toBe(true);
  });

  it('is marked ready for shipping', () => {
    given(HISTORY.Packed).when(command('MarkReadyForShipping', {})).then([{ type: 'ReadyForShipping', data: {} }]);
  });
});

describe('When ReadyForShipping', () => {
  it('ships with what accounting needs to charge the customer', () => {
    given(HISTORY.ReadyForShipping)
      .when(command('Ship', { carrier: 'DHL', trackingNumber: 'JJD0001' }))
      .then([{ type: 'ShipmentShipped', data: { carrier: 'DHL', trackingNumber: 'JJD0001', customerAccountId: 'ACC-9', totalMinor: 7499, currency: 'EUR' } }]);
  });

  it('needs a carrier and a tracking number', () => {
    const r = given(HISTORY.ReadyForShipping).when(command('Ship', { carrier: '', trackingNumber: '' })).thenRejects(hasCode('VALIDATION'));
    expect(r.fieldErrors?.map((e) => e.field)).toEqual(['carrier', 'trackingNumber']);
  });
});

describe('When Shipped', () => {
  it('is delivered', () => {
    given(HISTORY.Shipped).when(command('ConfirmDelivery', { receivedBy: 'neighbour at 3' })).then([{ type: 'ShipmentDelivered', data: { receivedBy: 'neighbour at 3' } }]);
  });

  it('can no longer be cancelled', () => {
    given(HISTORY.Shipped).when(command('Cancel', { reason: 'too late' })).thenRejects((r) => r.code === 'INVALID_TRANSITION' && r.allowedCommands.join() === 'ConfirmDelivery,CorrectStatus');
  });
});

describe('When Delivered', () => {
  it('accepts nothing but a correction', () => {
    const r = given(HISTORY.Delivered).when(command('Cancel', { reason: 'returned' })).thenRejects(hasCode('INVALID_TRANSITION'));
    expect(r.allowedCommands).toEqual(['CorrectStatus']);
    expect(r.reason).toContain('Allowed from Delivered: CorrectStatus.');
  });

  it('refuses a correction from a team lead as FORBIDDEN', () => {
    const r = given(HISTORY.Delivered)
      .when(command('CorrectStatus', { toStatus: 'Shipped', reason: 'parcel came back' }, as('team-lead', 'tom')))
      .thenRejects(hasCode('FORBIDDEN'));
    expect(r.reason).toBe('tom (team-lead) may not send CorrectStatus for shipment 1345693; only supervisor may.');
    expect(raisesAlert(r)).toBe(true);
  });

  it('lets a supervisor correct it, naming where it came from, why, who, and what accounting needs', () => {
    given([...HISTORY.Delivered])
      .when(command('CorrectStatus', { toStatus: 'Shipped', reason: 'parcel came back' }, as('supervisor', 'sam')))
      .then([
        {
          type: 'StatusCorrected',
          data: { fromStatus: 'Delivered', toStatus: 'Shipped', reason: 'parcel came back', correctedBy: 'sam', customerAccountId: 'ACC-9', totalMinor: 7499, currency: 'EUR' },
        },
      ]);
  });

  it('can then be delivered again after the correction', () => {
    given([...HISTORY.Delivered, { type: 'StatusCorrected', data: { fromStatus: 'Delivered', toStatus: 'Shipped', reason: 'x', correctedBy: 'sam', customerAccountId: 'ACC-9', totalMinor: 7499, currency: 'EUR' } }])
      .when(command('ConfirmDelivery', { receivedBy: 'J. de Vries' }))
      .then([{ type: 'ShipmentDelivered', data: { receivedBy: 'J. de Vries' } }]);
  });
});

describe('When Cancelled', () => {
  it('stays cancelled for ordinary commands', () => {
    given(HISTORY.Cancelled).when(command('ReleaseForPicking', {})).thenRejects(hasCode('INVALID_TRANSITION'));
  });

  it('needs a reason for a correction', () => {
    const r = given(HISTORY.Cancelled).when(command('CorrectStatus', { toStatus: 'Created', reason: '' }, as('supervisor'))).thenRejects(hasCode('VALIDATION'));
    expect(r.fieldErrors).toEqual([{ field: 'reason', message: 'is required and must not be blank' }]);
  });

  it('needs a real status to correct to', () => {
    const r = given(HISTORY.Cancelled).when(command('CorrectStatus', { toStatus: 'None' as never, reason: 'typo' }, as('supervisor'))).thenRejects(hasCode('VALIDATION'));
    expect(r.fieldErrors?.[0]?.field).toBe('toStatus');
  });

  it('treats a correction to the status it already has as VALIDATION, not an alert', () => {
    const r = given(HISTORY.Cancelled).when(command('CorrectStatus', { toStatus: 'Cancelled', reason: 'double check' }, as('supervisor'))).thenRejects(hasCode('VALIDATION'));
    expect(r.fieldErrors).toEqual([{ field: 'toStatus', message: 'must differ from the current status Cancelled' }]);
    expect(raisesAlert(r)).toBe(false);
  });

  it('is reopened by a supervisor with a StatusCorrected', () => {
    given(HISTORY.Cancelled)
      .when(command('CorrectStatus', { toStatus: 'PendingPicking', reason: 'cancelled by mistake' }, as('supervisor', 'sam')))
      .then([
        {
          type: 'StatusCorrected',
          data: { fromStatus: 'Cancelled', toStatus: 'PendingPicking', reason: 'cancelled by mistake', correctedBy: 'sam', customerAccountId: 'ACC-9', totalMinor: 7499, currency: 'EUR' },
        },
      ]);
  });
});

describe('When deciding twice', () => {
  it('gives the same answer and leaves its inputs alone', () => {
    const cmd = command('PickItem', { sku: 'SKU-A', quantity: 1 });
    const spec = given([created, released, delivered]);
    const first = spec.when(cmd);
    const before = JSON.stringify(first.state);
    const second = spec.when(cmd);
    expect(second.outcome).toEqual(first.outcome);
    expect(JSON.stringify(first.state)).toBe(before);
  });
});
