import { Kafka, logLevel } from 'kafkajs';
import { testEnvironment } from '@waybill/devstack';
import { KafkaWire } from './kafka-wire';

// The stream loop's transactions rely on patches/kafkajs+2.2.4.patch (applied by `npm install`):
// the coordinators are kept between transactions, and a coordinator still busy with the last
// commit's markers is asked again at once. This test fails the day the patch is not applied.
const env = testEnvironment();
const client = new Kafka({ brokers: env.brokers, clientId: 'kafkajs-transactions-test', logLevel: logLevel.NOTHING, retry: { retries: 30, maxRetryTime: 2_000 } });

afterAll(() => env.cleanup());

describe('kafkajs transactions (patched)', () => {
  it('runs back-to-back transactions with offsets without FindCoordinator or metadata round trips, and commits every one', async () => {
    const input = env.uniqueName('txn-in');
    const output = env.uniqueName('txn-out');
    await env.createTopics([
      { topic: input, partitions: 1 },
      { topic: output, partitions: 1 },
    ]);
    const groupId = env.uniqueName('txn-group');
    const producer = client.producer({ transactionalId: env.uniqueName('txn'), idempotent: true, maxInFlightRequests: 1, retry: { initialRetryTime: 10, retries: 30 } });
    await producer.connect();
    const requests = new Map<string, number>();
    let counting = false;
    producer.on(producer.events.REQUEST, ({ payload }) => {
      if (counting) requests.set(payload.apiName, (requests.get(payload.apiName) ?? 0) + 1);
    });
    const transactions = 20;
    const runOne = async (i: number) => {
      const transaction = await producer.transaction();
      await transaction.sendBatch({ topicMessages: [{ topic: output, messages: [{ key: String(i), value: 'v', partition: 0 }] }], acks: -1 });
      await transaction.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: input, partitions: [{ partition: 0, offset: String(i + 1) }] }] });
      await transaction.commit();
    };
    try {
      await runOne(0);
      counting = true;
      for (let i = 1; i <= transactions; i += 1) await runOne(i);
    } finally {
      await producer.disconnect();
    }

    // Unpatched kafkajs sends FindCoordinator ("GroupCoordinator") four times per transaction, and
    // a refused AddPartitionsToTxn (CONCURRENT_TRANSACTIONS) costs a metadata refresh.
    expect(requests.get('GroupCoordinator') ?? 0).toBe(0);
    expect(requests.get('Metadata') ?? 0).toBe(0);
    expect(requests.get('EndTxn')).toBe(transactions);
    expect(requests.get('TxnOffsetCommit')).toBe(transactions);
    expect(requests.get('Produce')).toBe(transactions);
    expect(requests.get('AddPartitionsToTxn')).toBeGreaterThanOrEqual(transactions);

    // Every transaction committed: its record and its marker, and the group's offset is the last one sent.
    const wire = new KafkaWire(env.kafka);
    await wire.connect();
    try {
      const expectedEnd = BigInt(2 * (transactions + 1));
      let ends = await wire.offsets([{ topic: output, partitions: [0] }]);
      for (let i = 0; i < 50 && ends.get(`${output}:0`)?.stable !== expectedEnd; i += 1) {
        await new Promise((r) => setTimeout(r, 100));
        ends = await wire.offsets([{ topic: output, partitions: [0] }]);
      }
      expect(ends.get(`${output}:0`)).toEqual({ topic: output, partition: 0, stable: expectedEnd, high: expectedEnd });
      const records = await wire.readUncommitted(output, 0, 0n, expectedEnd);
      expect(records.filter((r) => !r.isControlRecord).map((r) => r.key?.toString())).toEqual(Array.from({ length: transactions + 1 }, (_, i) => String(i)));
    } finally {
      await wire.disconnect();
    }
    const admin = client.admin();
    await admin.connect();
    try {
      const [committed] = await admin.fetchOffsets({ groupId, topics: [input] });
      expect(committed.partitions).toEqual([expect.objectContaining({ partition: 0, offset: String(transactions + 1) })]);
    } finally {
      await admin.disconnect();
    }
  });
});
