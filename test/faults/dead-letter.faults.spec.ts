import type { KafkaMessage } from 'kafkajs';
import { deadLetterTopic, TOPICS, type TopicMap } from '@waybill/contracts';
import { call, newShipment, pipeline, type Pipeline } from '../support/pipeline';

// Bytes that do not decode, on every topic: each consumer group that reads the topic sends them
// to `<topic>.dlq` with the error and the original offset, and goes on processing what follows.

type App = Awaited<ReturnType<Pipeline['start']>>;

/** Which consumer groups read each topic and must dead-letter what they cannot decode. */
const READERS: Record<keyof TopicMap, string[]> = {
  shipmentCommands: ['shipment-reducer'],
  shipmentEvents: ['accounting-listener', 'ledger'],
  shipmentOutcomes: ['ledger'],
  shipmentObservations: ['shipment-reducer-observations'],
  accountingCommands: ['accounting-command-listener'],
  accountingTransactions: ['account-reducer', 'ledger'],
  // accounting-handler's outcome tracker only skips an answer it cannot read: nobody waits on bad bytes.
  accountingOutcomes: [],
};

/** Three kinds of bad bytes: not the wire format, an unknown schema id, a known id with a cut-off body. */
function badValues(knownSchemaId: number): Array<{ kind: string; value: Buffer }> {
  const header = (id: number) => Buffer.from([0, (id >>> 24) & 0xff, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff]);
  return [
    { kind: 'not the Confluent wire format', value: Buffer.from('{"hello":"this is JSON, not Avro"}') },
    { kind: 'unknown schema id', value: Buffer.concat([header(987_654), Buffer.from([2, 4, 6])]) },
    { kind: 'known schema, truncated body', value: Buffer.concat([header(knownSchemaId), Buffer.from([0x80])]) },
  ];
}

describe('faults: undecodable bytes on every topic', () => {
  let p: Pipeline;
  let shipments: App;
  let accounting: App;
  let ledger: App;

  beforeAll(async () => {
    p = await pipeline('dlq');
    await Promise.all([p.start('shipment-reducer'), p.start('accounting-listener'), p.start('accounting-command-listener'), p.start('account-reducer')]);
    [shipments, accounting, ledger] = await Promise.all([
      p.start('shipment-handler', { OUTCOME_WAIT_MS: '10000' }),
      p.start('accounting-handler', { OUTCOME_WAIT_MS: '10000' }),
      p.start('ledger'),
    ]);
  }, 120_000);
  afterAll(() => p?.close());

  it('dead-letters them with the error and the original offset, per consumer group, and keeps processing', async () => {
    // A schema id the registry knows: the one a real shipment command is written with.
    const sample = await p.serde.encode(TOPICS.shipmentCommands, 'ReleaseForPicking' as never, {
      commandId: 'x', aggregateId: 'x', aggregateType: 'Shipment', expectedVersion: null, traceId: 't', causationId: null, initiatedBy: 'a', role: 'associate', timestamp: 0, data: {},
    } as never);
    const knownSchemaId = sample.readUInt32BE(1);

    const producer = p.env.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const injected: Array<{ topic: keyof TopicMap; kind: string; partition: number; offset: string }> = [];
    for (const topic of Object.keys(READERS) as Array<keyof TopicMap>) {
      for (const { kind, value } of badValues(knownSchemaId)) {
        const [meta] = await producer.send({ topic: p.topics[topic], acks: -1, messages: [{ key: `BAD-${topic}`, value }] });
        injected.push({ topic, kind, partition: meta.partition, offset: meta.baseOffset! });
      }
    }
    await producer.disconnect();

    // Processing goes on: a shipment ships, its account is charged, the ledger shows both.
    const id = 'DLQ-1';
    expect((await call(shipments, 'POST', '/shipments', { role: 'associate', body: { ...newShipment(id), customerAccountId: 'ACC-DLQ' } })).status).toBe(201);
    for (const [role, type, data] of [
      ['team-lead', 'ReleaseForPicking', {}],
      ['associate', 'PickItem', { sku: 'SKU-A', quantity: 2 }],
      ['associate', 'PickItem', { sku: 'SKU-B', quantity: 1 }],
      ['associate', 'CompletePicking', {}],
      ['associate', 'Pack', { packageCount: 1 }],
      ['associate', 'MarkReadyForShipping', {}],
      ['associate', 'Ship', { carrier: 'DHL', trackingNumber: 'T-DLQ' }],
    ] as Array<[string, string, object]>) {
      expect([type, (await call(shipments, 'POST', `/shipments/${id}/commands`, { role, body: { type, data } })).status]).toEqual([type, 200]);
    }
    await eventually('the account to be charged', async () => (await call(accounting, 'GET', '/accounts/ACC-DLQ', { role: 'finance' })).body?.balanceMinor === 2 * 1250 + 4999);
    // The answers after the bad bytes on accounting.outcomes still reach their callers.
    const paid = await call(accounting, 'POST', '/accounts/ACC-DLQ/payments', { role: 'finance', body: { amountMinor: 100, currency: 'EUR' } });
    expect([paid.status, paid.body?.status]).toEqual([201, 'recorded']);
    await eventually('the ledger to show the shipment shipped', async () => (await call(ledger, 'GET', `/shipments/${id}`, { role: 'viewer' })).body?.status === 'Shipped');

    // Every injected record is on its topic's DLQ once per reader, with where it came from and why.
    const expected = injected.flatMap((i) => READERS[i.topic].map((group) => ({ ...i, group })));
    const found = new Map<string, KafkaMessage>();
    const consumer = p.env.kafka.consumer({ groupId: p.env.uniqueName('dlq-reader') });
    await consumer.connect();
    await consumer.subscribe({ topics: Object.keys(READERS).map((t) => deadLetterTopic(p.topics[t as keyof TopicMap])), fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        const h = (name: string) => message.headers?.[name]?.toString();
        found.set(`${topic}|${h('x-consumer-group')}|${h('x-original-partition')}|${h('x-original-offset')}`, message);
      },
    });
    await eventually(`${expected.length} dead letters`, async () => found.size >= expected.length, 60_000);
    await consumer.disconnect();

    const rows = expected.map((e) => {
      const group = p.prefix + e.group;
      const letter = found.get(`${deadLetterTopic(p.topics[e.topic])}|${group}|${e.partition}|${e.offset}`);
      const error = letter?.headers?.['x-error']?.toString() ?? '';
      return { topic: TOPICS[e.topic], kind: e.kind, group: e.group, offset: e.offset, deadLettered: Boolean(letter), error: error.slice(0, 70) };
    });
    process.stdout.write(
      ['', 'dead letters: what was injected and what each reader did', ...rows.map((r) => `  ${r.deadLettered ? 'PASS' : 'FAIL'}  ${r.topic.padEnd(24)} ${r.kind.padEnd(30)} @${r.offset.padEnd(4)} ${r.group.padEnd(28)} ${r.error}`), ''].join('\n') + '\n',
    );
    expect(rows.filter((r) => !r.deadLettered)).toEqual([]);
    for (const r of rows) expect(r.error).not.toBe('');
    // Same bytes as the original, so the record can be repaired and replayed.
    for (const e of expected) {
      const letter = found.get(`${deadLetterTopic(p.topics[e.topic])}|${p.prefix + e.group}|${e.partition}|${e.offset}`)!;
      expect(letter.headers?.['x-original-topic']?.toString()).toBe(p.topics[e.topic]);
      expect(letter.value?.equals(badValues(knownSchemaId).find((b) => b.kind === e.kind)!.value)).toBe(true);
    }
  }, 240_000);
});

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
