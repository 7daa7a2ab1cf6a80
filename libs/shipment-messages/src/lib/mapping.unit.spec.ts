import { Type } from 'avsc';
import { latestSchema } from '@waybill/contracts';
import {
  decide,
  evolve,
  initialState,
  isRejection,
  raisesAlert,
  toEnvelopes,
  type ShipmentCommand,
  type ShipmentState,
} from '@waybill/shipment-domain';
import { acceptedOutcome, commandToRecord, envelopeToRecord, recordToCommand, recordToEnvelope, rejectedOutcome } from './mapping';

// The domain and the Avro contracts are written separately; this walks a shipment through its
// whole life and checks that every command, event and outcome the domain makes is a valid record
// of the latest schema, and comes back unchanged.

const typeOf = (name: string) => Type.forSchema(latestSchema(name).schema as never);
const problems = (name: string, value: unknown) => {
  const paths: string[] = [];
  typeOf(name).isValid(value, { noUndeclaredFields: true, errorHook: (path: string[]) => paths.push(path.join('.')) });
  return paths;
};

let seq = 0;
function command(type: ShipmentCommand['type'], data: object, role: ShipmentCommand['metadata']['role'] = 'associate', expectedVersion?: number): ShipmentCommand {
  seq += 1;
  return {
    type,
    data,
    metadata: { commandId: `cmd-${seq}`, shipmentId: '1345693', initiatedBy: 'ana', role, traceId: 'trace-1', now: 1_700_000_000_000 + seq, ...(expectedVersion !== undefined ? { expectedVersion } : {}) },
  } as ShipmentCommand;
}

const life: ShipmentCommand[] = [
  command('CreateShipment', {
    orderId: 'ORD-1',
    customerAccountId: 'ACC-1',
    currency: 'EUR',
    lines: [{ sku: 'A', quantity: 2, unitPriceMinor: 500 }],
    destination: { name: 'Zoë', street: 'Main 1', city: 'Utrecht', postalCode: '3511', country: 'NL' },
  }),
  command('ReleaseForPicking', {}, 'team-lead', 1),
  command('PickItem', { sku: 'A', quantity: 2 }),
  command('CompletePicking', {}),
  command('Pack', { packageCount: 1 }),
  command('ReleaseForPicking', {}, 'team-lead'), // refused: Packed → PendingPicking
  command('MarkReadyForShipping', {}),
  command('Ship', { carrier: 'DHL', trackingNumber: 'T1' }),
  command('CorrectStatus', { toStatus: 'Packed', reason: 'wrong truck' }, 'supervisor'),
  command('Cancel', { reason: 'customer withdrew' }),
  command('ConfirmDelivery', { receivedBy: 'x' }), // refused: Cancelled is terminal
];

describe('shipment messages', () => {
  it('map every command, event and outcome of a whole life onto valid records and back', () => {
    let state: ShipmentState = initialState();
    let accepted = 0;
    let refused = 0;
    for (const cmd of life) {
      const record = commandToRecord(cmd);
      expect(problems(record.type, record.value)).toEqual([]);
      expect(recordToCommand(record)).toEqual(cmd);

      const outcome = decide(cmd, state);
      if (isRejection(outcome)) {
        refused += 1;
        const wire = rejectedOutcome(cmd, outcome, raisesAlert(outcome));
        expect(problems('CommandOutcome', wire)).toEqual([]);
        expect(wire.alert).toBe(outcome.code === 'INVALID_TRANSITION');
        continue;
      }
      accepted += 1;
      const envelopes = toEnvelopes(cmd, outcome, state);
      for (const envelope of envelopes) {
        const eventRecord = envelopeToRecord(envelope);
        expect(problems(eventRecord.type, eventRecord.value)).toEqual([]);
        expect(recordToEnvelope(eventRecord)).toEqual(envelope);
      }
      const wire = acceptedOutcome(cmd, envelopes, state.version);
      expect(problems('CommandOutcome', wire)).toEqual([]);
      expect(wire.version).toBe(state.version + envelopes.length);
      state = outcome.reduce(evolve, state);
    }
    expect({ accepted, refused }).toEqual({ accepted: 9, refused: 2 });
    expect(state.status).toBe('Cancelled');
  });
});
