import { Type, type Schema } from 'avsc';
import { RECORD_FULL_NAMES, TOPIC_RECORDS, type RecordName, type ShipmentShipped } from '../generated/types';
import { latestSchema, recordFullName, schemaHistory, subjectFor, topicCarries } from './catalogue';
import { UnknownRecordError } from './errors';

const RECORD_NAMES = Object.keys(RECORD_FULL_NAMES) as RecordName[];
const EVENT_ENVELOPE = ['eventId', 'aggregateId', 'aggregateType', 'version', 'traceId', 'causationId', 'initiatedBy', 'timestamp', 'data'];
/** Shipment events also say whether they record an observed fact (docs/ARCHITECTURE.md §11). */
const SHIPMENT_EVENT_ENVELOPE = [...EVENT_ENVELOPE.slice(0, -1), 'observation', 'data'];
const COMMAND_ENVELOPE = ['commandId', 'aggregateId', 'aggregateType', 'expectedVersion', 'traceId', 'causationId', 'initiatedBy', 'role', 'timestamp', 'data'];

const fieldNames = (name: RecordName) => (latestSchema(name).schema as { fields: Array<{ name: string }> }).fields.map((f) => f.name);

describe('schema history', () => {
  it('returns every version oldest first, by short or full name', () => {
    expect(schemaHistory('ShipmentShipped').map((v) => v.version)).toEqual([1, 2, 3]);
    expect(schemaHistory('dev.waybill.shipment.ShipmentShipped')).toEqual(schemaHistory('ShipmentShipped'));
    expect(latestSchema('ShipmentCreated').version).toBe(2);
  });

  it('hands out copies, so callers cannot change the catalogue', () => {
    (latestSchema('Pack').schema as { name: string }).name = 'Mangled';
    expect((latestSchema('Pack').schema as { name: string }).name).toBe('Pack');
  });

  it('rejects names it does not know', () => {
    expect(() => schemaHistory('ShipmentTeleported')).toThrow(UnknownRecordError);
  });

  it('keeps every version BACKWARD compatible with its predecessor', () => {
    let checked = 0;
    for (const name of RECORD_NAMES) {
      const history = schemaHistory(name);
      for (let i = 1; i < history.length; i += 1) {
        const reader = Type.forSchema(history[i].schema);
        const writer = Type.forSchema(history[i - 1].schema);
        expect(() => reader.createResolver(writer)).not.toThrow();
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(1);
  });
});

describe('ShipmentShipped v1 → v2 (adds serviceLevel, default null)', () => {
  const [v1, v2] = schemaHistory('ShipmentShipped').map((v) => Type.forSchema(v.schema));
  const envelope = {
    eventId: 'cmd-1:0', aggregateId: '1345693', aggregateType: 'Shipment', version: 7, traceId: 't-1',
    causationId: 'cmd-1', initiatedBy: 'alice', timestamp: 1_700_000_000_000,
  };
  const v1Data = { carrier: 'DHL', trackingNumber: 'JD0001', customerAccountId: 'acc-9', totalMinor: 12_345, currency: 'EUR' };

  it('lets new consumers read old events: the new field takes its default', () => {
    const written = v1.toBuffer({ ...envelope, data: v1Data });
    const read = v2.fromBuffer(written, v2.createResolver(v1)) as ShipmentShipped;
    expect(read.data.serviceLevel).toBeNull();
    expect(read.data.totalMinor).toBe(12_345);
  });

  it('lets old consumers read new events: the extra field is skipped', () => {
    const written = v2.toBuffer({ ...envelope, data: { ...v1Data, serviceLevel: 'express' } });
    const read = v1.fromBuffer(written, v1.createResolver(v2));
    expect(read.data).not.toHaveProperty('serviceLevel');
    expect(read.data.trackingNumber).toBe('JD0001');
    expect(read.timestamp).toBe(envelope.timestamp);
  });

  it('shows why a new field needs a default: a required one is not BACKWARD compatible', () => {
    const schema = latestSchema('ShipmentShipped').schema as { fields: Array<{ name: string; type: { fields: unknown[] } }> };
    const data = schema.fields.find((f) => f.name === 'data') as { type: { fields: unknown[] } };
    data.type.fields = [...data.type.fields.slice(0, -1), { name: 'serviceLevel', type: 'string' }];
    const required = Type.forSchema(schema as unknown as Schema);
    expect(() => required.createResolver(v1)).toThrow(/serviceLevel/);
  });
});

describe('the envelope', () => {
  it('is on every event and every command, in the same order', () => {
    for (const name of TOPIC_RECORDS['shipment.events']) expect(fieldNames(name)).toEqual(SHIPMENT_EVENT_ENVELOPE);
    expect(fieldNames('TransactionRecorded')).toEqual(EVENT_ENVELOPE);
    for (const name of TOPIC_RECORDS['shipment.commands']) expect(fieldNames(name)).toEqual(COMMAND_ENVELOPE);
    expect(fieldNames('AccountingCommand')).toEqual(COMMAND_ENVELOPE);
  });

  it('keeps timestamps numbers (epoch ms) through timestamp-millis', () => {
    const type = Type.forSchema(latestSchema('AccountingCommandOutcome').schema);
    const value = { commandId: 'c', transactionId: 'tx', accountId: 'a', status: 'Recorded', code: null, reason: null, fieldErrors: [], version: 3, traceId: 't', sourceEventId: null, timestamp: 1_700_000_000_123 };
    expect(type.fromBuffer(type.toBuffer(value)).timestamp).toBe(1_700_000_000_123);
  });
});

describe('subjects', () => {
  it('follow TopicRecordNameStrategy', () => {
    expect(subjectFor('shipment.events', 'ShipmentCreated')).toBe('shipment.events-dev.waybill.shipment.ShipmentCreated');
    expect(subjectFor('accounting.transactions', 'dev.waybill.accounting.TransactionRecorded')).toBe(
      'accounting.transactions-dev.waybill.accounting.TransactionRecorded',
    );
    expect(recordFullName('CommandOutcome')).toBe('dev.waybill.shipment.CommandOutcome');
  });

  it('knows which topic carries which record', () => {
    expect(topicCarries('shipment.events', 'ShipmentShipped')).toBe(true);
    expect(topicCarries('shipment.commands', 'ShipmentShipped')).toBe(false);
    expect(topicCarries('accounting.outcomes', 'AccountingCommandOutcome')).toBe(true);
    expect(topicCarries('accounting.transactions', 'AccountingCommandOutcome')).toBe(false);
  });
});
