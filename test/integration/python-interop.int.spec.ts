import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  createSerde,
  kafkajsRegistryClient,
  TOPICS,
  type ItemPicked,
  type ShipmentCreated,
  type ShipmentShipped,
  type StatusCorrected,
} from '@waybill/contracts';
import { testEnvironment } from '@waybill/devstack';

const run = promisify(execFile);
const root = join(__dirname, '..', '..');
const python = join(root, '.cache', 'python', 'bin', 'python');

const envelope = (shipmentId: string, version: number) => ({
  eventId: `cmd-${shipmentId}-${version}:0`,
  aggregateId: shipmentId,
  aggregateType: 'Shipment',
  version,
  traceId: `trace-${shipmentId}`,
  causationId: `cmd-${shipmentId}-${version}`,
  initiatedBy: 'ana.associate',
  timestamp: 1_795_000_000_000 + version,
  observation: null,
});

type Written =
  | { recordName: 'ShipmentCreated'; value: ShipmentCreated }
  | { recordName: 'ItemPicked'; value: ItemPicked }
  | { recordName: 'ShipmentShipped'; value: ShipmentShipped }
  | { recordName: 'StatusCorrected'; value: StatusCorrected };

function eventsFor(shipmentId: string): Written[] {
  return [
    {
      recordName: 'ShipmentCreated',
      value: {
        ...envelope(shipmentId, 1),
        data: {
          orderId: `order-${shipmentId}`,
          customerAccountId: 'acct-7',
          currency: 'EUR',
          lines: [
            { sku: 'SKU-Ä-1', quantity: 2, unitPriceMinor: 1250 },
            { sku: 'SKU-2', quantity: 1, unitPriceMinor: 99_999_999_999 },
          ],
          destination: { name: 'Zoë Ørsted', street: 'Keizersgracht 1', city: 'Amsterdam', postalCode: '1015 CJ', country: 'NL' },
          totalMinor: 100_000_002_499,
        },
      },
    },
    { recordName: 'ItemPicked', value: { ...envelope(shipmentId, 2), data: { sku: 'SKU-Ä-1', quantity: 2, pickedForSku: 2 } } },
    {
      recordName: 'ShipmentShipped',
      value: {
        ...envelope(shipmentId, 3),
        data: { carrier: 'DHL', trackingNumber: 'JD0146', customerAccountId: 'acct-7', totalMinor: 100_000_002_499, currency: 'EUR', serviceLevel: 'express' },
      },
    },
    {
      recordName: 'StatusCorrected',
      value: {
        ...envelope(shipmentId, 4),
        data: {
          fromStatus: 'Shipped',
          toStatus: 'Packed',
          reason: 'scanned the wrong pallet <script>',
          correctedBy: 'sue.supervisor',
          customerAccountId: 'acct-7',
          totalMinor: 100_000_002_499,
          currency: 'EUR',
        },
      },
    },
  ];
}

describe("Confluent's Python client reads what Waybill wrote", () => {
  const env = testEnvironment();
  afterAll(() => env.cleanup());

  it('decodes every record of a Waybill topic to the same values', async () => {
    const topic = env.uniqueName('interop-events');
    await env.createTopics([{ topic, partitions: 3 }]);
    const serde = createSerde({ registry: kafkajsRegistryClient(env.schemaRegistryUrl) });
    const written = ['1345693', '1345694', '1345695'].flatMap(eventsFor);

    const producer = env.kafka.producer();
    await producer.connect();
    const messages = [];
    for (const record of written) {
      const bytes = await serde.encode(TOPICS.shipmentEvents, record.recordName, record.value as never);
      messages.push({ key: record.value.aggregateId, value: bytes });
    }
    await producer.send({ topic, messages });
    await producer.disconnect();

    const { stdout } = await run(
      python,
      [join(root, 'test', 'interop', 'read_with_confluent_kafka.py'), '--brokers', env.brokers.join(','), '--topic', topic, '--registry', env.schemaRegistryUrl, '--count', String(written.length)],
      { timeout: 90_000 },
    );
    const read = stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(read).toHaveLength(written.length);
    for (const record of read) {
      const original = written.find((w) => w.value.eventId === record.value.eventId);
      expect(original).toBeDefined();
      expect(record.key).toBe(original!.value.aggregateId);
      // What Python decoded is what we encoded: nested records, arrays, enums, unicode, longs above 2^32.
      const expected = JSON.parse(JSON.stringify(original!.value));
      expect(record.value).toEqual(expected);
      // And our own decoder agrees on the record type behind the schema id Python saw.
      const decoded = await serde.decode(messages.find((m) => m.key === record.key && m.value.subarray(1, 5).readUInt32BE() === record.schemaId)!.value);
      expect(decoded.schemaId).toBe(record.schemaId);
    }
    expect(new Set(read.map((r) => r.schemaId)).size).toBe(4);
  });
});
