import { Type } from 'avsc';
import * as fc from 'fast-check';
import { RECORD_FULL_NAMES, TOPIC_RECORDS, type RecordName, type ShipmentCreated } from '../generated/types';
import { latestSchema, latestType, schemaHistory, subjectFor } from './catalogue';
import { InvalidRecordError, SchemaNotFoundError, SchemaRegistryError, UndecodableMessageError, UnknownRecordError } from './errors';
import type { SchemaRegistryClient } from './registry-client';
import { MAX_LONG, MIN_LONG } from './long-range';
import { createSerde } from './serde';
import type { TopicName } from './topics';
import { frame } from './wire-format';

/** A test double of the schema registry: global ids, the same id for the same schema text. */
class InMemoryRegistry implements SchemaRegistryClient {
  readonly schemas: string[] = [];
  readonly subjects = new Map<string, number[]>();
  getSchemaCalls = 0;
  down = false;

  async register(subject: string, schema: string): Promise<number> {
    if (this.down) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    let id = this.schemas.indexOf(schema) + 1;
    if (id === 0) id = this.schemas.push(schema);
    const versions = this.subjects.get(subject) ?? [];
    if (!versions.includes(id)) this.subjects.set(subject, [...versions, id]);
    return id;
  }

  async getSchema(id: number): Promise<string> {
    this.getSchemaCalls += 1;
    if (this.down) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const schema = this.schemas[id - 1];
    if (schema === undefined) throw new SchemaNotFoundError(id);
    return schema;
  }
}

const created: ShipmentCreated = {
  eventId: 'cmd-1:0',
  aggregateId: '1345693',
  aggregateType: 'Shipment',
  version: 1,
  traceId: 'trace-1',
  causationId: 'cmd-1',
  initiatedBy: 'alice',
  timestamp: 1_700_000_000_000,
  observation: null,
  data: {
    orderId: 'ord-1',
    customerAccountId: 'acc-9',
    currency: 'EUR',
    lines: [{ sku: 'SKU-1', quantity: 2, unitPriceMinor: 1_250 }],
    destination: { name: 'Ada', street: '1 Main St', city: 'Ghent', postalCode: '9000', country: 'BE' },
    totalMinor: 2_500,
  },
};

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  return 'resolved';
}

describe('createSerde', () => {
  let registry: InMemoryRegistry;
  let serde: ReturnType<typeof createSerde>;

  beforeEach(() => {
    registry = new InMemoryRegistry();
    serde = createSerde({ registry });
  });

  describe('registerAll', () => {
    it('registers the latest schema of every record under <topic>-<full name>', async () => {
      await serde.registerAll();
      const expected = Object.entries(TOPIC_RECORDS).flatMap(([topic, names]) => names.map((n) => `${topic}-${RECORD_FULL_NAMES[n]}`));
      expect([...registry.subjects.keys()].sort()).toEqual(expected.sort());
      const shippedId = registry.subjects.get('shipment.events-dev.waybill.shipment.ShipmentShipped')?.[0] as number;
      expect(JSON.parse(registry.schemas[shippedId - 1])).toEqual(latestSchema('ShipmentShipped').schema);
      expect(registry.schemas[shippedId - 1]).toContain('"logicalType":"timestamp-millis"');
    });

    it('reports a registry outage as a retriable SchemaRegistryError', async () => {
      registry.down = true;
      const error = await rejection(serde.registerAll());
      expect(error).toBeInstanceOf(SchemaRegistryError);
      expect((error as SchemaRegistryError).retriable).toBe(true);
    });
  });

  describe('encode', () => {
    it('frames the Avro body with magic byte 0 and the subject id', async () => {
      const buffer = await serde.encode('shipment.events', 'ShipmentCreated', created);
      const id = registry.subjects.get(subjectFor('shipment.events', 'ShipmentCreated'))?.[0] as number;
      expect(buffer[0]).toBe(0);
      expect(buffer.readInt32BE(1)).toBe(id);
      expect(buffer.subarray(5)).toEqual(latestType('ShipmentCreated').toBuffer(created));
    });

    it('names every bad path and asks the registry nothing', async () => {
      const bad = { ...created, version: 1.5, data: { ...created.data, lines: [{ sku: 'SKU-1', quantity: 'two', unitPriceMinor: 1 }] } };
      const error = await rejection(serde.encode('shipment.events', 'ShipmentCreated', bad as never));
      expect(error).toBeInstanceOf(InvalidRecordError);
      expect((error as InvalidRecordError).paths).toEqual(['version', 'data.lines.0.quantity']);
      expect((error as Error).message).toContain('data.lines.0.quantity');
      expect(registry.subjects.size).toBe(0);
    });

    it('rejects fields the schema does not declare, so a typo is not dropped silently', async () => {
      const typo = { ...created, data: { ...created.data, totalMinr: 1 } };
      const error = await rejection(serde.encode('shipment.events', 'ShipmentCreated', typo as never));
      expect(error).toBeInstanceOf(InvalidRecordError);
    });

    it('rejects a record the topic does not carry', async () => {
      const error = await rejection(serde.encode('shipment.commands' as TopicName, 'ShipmentCreated' as never, created as never));
      expect(error).toBeInstanceOf(UnknownRecordError);
    });

    it('rejects longs that would not survive the trip as a number', async () => {
      for (const totalMinor of [2 ** 60, MIN_LONG - 1, MAX_LONG + 1]) {
        const huge = { ...created, data: { ...created.data, totalMinor } };
        const error = await rejection(serde.encode('shipment.events', 'ShipmentCreated', huge));
        expect((error as InvalidRecordError).paths).toEqual(['data.totalMinor']);
      }
      const edges = { ...created, version: MAX_LONG, data: { ...created.data, totalMinor: MIN_LONG } };
      expect((await serde.decode(await serde.encode('shipment.events', 'ShipmentCreated', edges))).value).toStrictEqual(edges);
    });
  });

  describe('decode', () => {
    it('round-trips to plain objects and remembers the schema id', async () => {
      const buffer = await serde.encode('shipment.events', 'ShipmentCreated', created);
      const decoded = await serde.decode(buffer, 'shipment.events');
      expect(decoded).toStrictEqual({ recordName: 'ShipmentCreated', schemaId: buffer.readInt32BE(1), value: created });
      expect(registry.getSchemaCalls).toBe(0);
    });

    it('fetches an unseen writer schema once, then caches it', async () => {
      const producer = createSerde({ registry });
      const buffer = await producer.encode('shipment.events', 'ShipmentCreated', created);
      await serde.decode(buffer);
      await serde.decode(buffer);
      expect(registry.getSchemaCalls).toBe(1);
    });

    it('resolves events written with ShipmentShipped v1 into v2: serviceLevel is null', async () => {
      const [v1] = schemaHistory('ShipmentShipped');
      const id = await registry.register(subjectFor('shipment.events', 'ShipmentShipped'), JSON.stringify(v1.schema));
      const event = {
        ...created,
        data: { carrier: 'DHL', trackingNumber: 'JD0001', customerAccountId: 'acc-9', totalMinor: 2_500, currency: 'EUR' },
      };
      const decoded = await serde.decode(frame(id, Type.forSchema(v1.schema).toBuffer(event)));
      expect(decoded.recordName).toBe('ShipmentShipped');
      expect(decoded.value).toStrictEqual({ ...event, data: { ...event.data, serviceLevel: null } });
    });

    it.each([
      ['TOO_SHORT', async () => Buffer.from([0, 0])],
      ['BAD_MAGIC_BYTE', async () => Buffer.from([1, 0, 0, 0, 1, 0])],
      ['UNKNOWN_SCHEMA_ID', async () => frame(4242, Buffer.from([0]))],
    ])('turns a bad frame into UndecodableMessageError(%s)', async (reason, message) => {
      const error = await rejection(serde.decode(await message()));
      expect(error).toBeInstanceOf(UndecodableMessageError);
      expect(error).toMatchObject({ code: 'UNDECODABLE_MESSAGE', reason });
    });

    it('calls a schema that is not one of our records UNKNOWN_RECORD', async () => {
      const foreign = { type: 'record', name: 'com.example.Foreign', fields: [{ name: 'x', type: 'int' }] };
      const id = await registry.register('other-value', JSON.stringify(foreign));
      const error = await rejection(serde.decode(frame(id, Type.forSchema(foreign as never).toBuffer({ x: 1 }))));
      expect(error).toMatchObject({ reason: 'UNKNOWN_RECORD', schemaId: id });
    });

    it('calls a record on the wrong topic UNKNOWN_RECORD', async () => {
      const buffer = await serde.encode('shipment.events', 'ShipmentCreated', created);
      const error = await rejection(serde.decode(buffer, 'accounting.commands'));
      expect(error).toMatchObject({ reason: 'UNKNOWN_RECORD' });
    });

    it('calls a truncated or padded body AVRO_DECODE_FAILED', async () => {
      const buffer = await serde.encode('shipment.events', 'ShipmentCreated', created);
      for (const broken of [buffer.subarray(0, buffer.length - 3), Buffer.concat([buffer, Buffer.from([0])])]) {
        expect(await rejection(serde.decode(broken))).toMatchObject({ reason: 'AVRO_DECODE_FAILED' });
      }
    });

    it('refuses a long another writer encoded beyond the range a number holds', async () => {
      await serde.registerAll();
      const id = registry.subjects.get(subjectFor('shipment.outcomes', 'CommandOutcome'))?.[0] as number;
      const strings = (n: number) => Buffer.concat(Array.from({ length: n }, () => Buffer.from([2, 0x61])));
      // version = -(2^52) - 1 as zig-zag varint 2^53 + 1, which avsc alone would read as +2^52.
      const varint = Buffer.from([0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]);
      const outcome = (version: Buffer) =>
        Buffer.concat([strings(3), Buffer.from([0]), version, Buffer.from([0, 0, 0, 0]), strings(4), Buffer.from([0]), strings(1)]);
      expect((await serde.decode(frame(id, outcome(Buffer.from([0x04]))))).value).toMatchObject({ version: 2, commandId: 'a' });
      const error = await rejection(serde.decode(frame(id, outcome(varint))));
      expect(error).toMatchObject({ reason: 'AVRO_DECODE_FAILED', message: expect.stringMatching(/long outside/) });
    });

    it('refuses an absurd array count at once instead of allocating it', async () => {
      await serde.registerAll();
      const id = registry.subjects.get(subjectFor('shipment.outcomes', 'CommandOutcome'))?.[0] as number;
      const strings = (n: number) => Buffer.concat(Array.from({ length: n }, () => Buffer.from([2, 0x61])));
      // commandId, aggregateId, commandType, status, version, then eventIds with a block of 2^31 items.
      const body = Buffer.concat([strings(3), Buffer.from([0, 2]), Buffer.from([0x80, 0x80, 0x80, 0x80, 0x10])]);
      const started = Date.now();
      const error = await rejection(serde.decode(frame(id, body)));
      expect(error).toMatchObject({ reason: 'AVRO_DECODE_FAILED', message: expect.stringMatching(/block of 2147483648 items/) });
      expect(Date.now() - started).toBeLessThan(1_000);
    });

    it('lets a registry outage through as retriable, not as a poison message', async () => {
      const producer = createSerde({ registry });
      const buffer = await producer.encode('shipment.events', 'ShipmentCreated', created);
      registry.down = true;
      const error = await rejection(serde.decode(buffer));
      expect(error).toBeInstanceOf(SchemaRegistryError);
      expect((error as SchemaRegistryError).retriable).toBe(true);
      registry.down = false;
      expect((await serde.decode(buffer)).recordName).toBe('ShipmentCreated');
    });
  });

  describe('properties', () => {
    // Values for any record, derived from its schema, so every record type gets a round trip.
    function arbitraryFor(type: Type): fc.Arbitrary<unknown> {
      const t = type as unknown as {
        typeName: string;
        fields: Array<{ name: string; type: Type }>;
        itemsType: Type;
        types: Type[];
        symbols: string[];
      };
      switch (t.typeName) {
        case 'null':
          return fc.constant(null);
        case 'boolean':
          return fc.boolean();
        case 'int':
          return fc.integer();
        case 'long':
          return fc.integer({ min: MIN_LONG, max: MAX_LONG });
        case 'string':
          return fc.string({ unit: 'grapheme', maxLength: 12 });
        case 'enum':
          return fc.constantFrom(...t.symbols);
        case 'array':
          return fc.array(arbitraryFor(t.itemsType), { maxLength: 4 });
        case 'union:unwrapped':
          return fc.oneof(...t.types.map(arbitraryFor));
        case 'record':
          // fast-check builds null-prototype objects; decode returns ordinary ones.
          return fc.record(Object.fromEntries(t.fields.map((f) => [f.name, arbitraryFor(f.type)]))).map((r) => ({ ...r }));
        default:
          throw new TypeError(`no arbitrary for ${t.typeName}`);
      }
    }

    const onTopic = Object.entries(TOPIC_RECORDS).flatMap(([topic, names]) => names.map((name) => [topic as TopicName, name as RecordName] as const));

    it.each(onTopic)('%s / %s: decode(encode(x)) = x', async (topic, name) => {
      await fc.assert(
        fc.asyncProperty(arbitraryFor(latestType(name)), async (value) => {
          const decoded = await serde.decode(await serde.encode(topic, name as never, value as never), topic);
          expect(decoded.recordName).toBe(name);
          expect(decoded.value).toStrictEqual(value);
        }),
        { numRuns: 25 },
      );
    });

    async function onlyUndecodable(message: Buffer): Promise<void> {
      try {
        await serde.decode(message);
      } catch (error) {
        if (!(error instanceof UndecodableMessageError)) throw error;
      }
    }

    it('never throws anything but UndecodableMessageError on random bytes', async () => {
      await serde.registerAll();
      const ids = fc.constantFrom(...registry.schemas.map((_, i) => i + 1), 0, 99_999);
      const framed = fc.tuple(ids, fc.uint8Array({ maxLength: 256 })).map(([id, body]) => frame(id, Buffer.from(body)));
      const raw = fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes));
      await fc.assert(fc.asyncProperty(fc.oneof(framed, raw), onlyUndecodable), { numRuns: 2_000 });
    });

    it('never throws anything but UndecodableMessageError on corrupted valid messages', async () => {
      const valid = await serde.encode('shipment.events', 'ShipmentCreated', created);
      const corrupted = fc
        .tuple(fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.nat(valid.length))
        .map(([flips, cut]) => {
          const copy = Buffer.from(valid);
          for (const [at, byte] of flips) copy[Math.max(at, 5)] = byte;
          return copy.subarray(0, Math.max(cut, 5));
        });
      await fc.assert(fc.asyncProperty(corrupted, onlyUndecodable), { numRuns: 2_000 });
    });
  });
});
