import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { awaitGroupCoordinator, makeHangingTransaction, partitionsVisitedBefore, startBrokerForHangingTransactions, transactionLogPartition, type HangingTransactionBroker } from './hanging-transaction';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('transactionLogPartition and partitionsVisitedBefore (the Java hashing the helper relies on)', () => {
  it('maps ids as the coordinator does', () => {
    // Utils.abs("T".hashCode()) % 12 = 84 % 12; a negative hashCode is made positive, not masked.
    expect(transactionLogPartition('T', 12)).toBe(0);
    expect(transactionLogPartition('T9', 12)).toBe(9);
    expect(transactionLogPartition('shipment-reducer-shipment.commands-1', 1)).toBe(0);
  });

  it('orders partitions as the broker logged its follower transitions (28 partitions, 64 buckets)', () => {
    const all = [
      ...['a', 'b'].flatMap((topic) => [0, 1].map((partition) => ({ topic, partition }))),
      ...['__transaction_state', '__consumer_offsets'].flatMap((topic) => Array.from({ length: 12 }, (_, partition) => ({ topic, partition }))),
    ];
    // Seen in state.change.logger: ... co-0, __transaction_state-0, co-8 ... (24th of 28), a-1 first.
    expect(partitionsVisitedBefore(all, { topic: '__transaction_state', partition: 0 })).toBe(23);
    expect(partitionsVisitedBefore(all, { topic: 'a', partition: 1 })).toBe(0);
  });
});

describe('makeHangingTransaction', () => {
  let broker: HangingTransactionBroker | undefined;
  const consumers: Consumer[] = [];

  afterAll(async () => {
    await Promise.all(consumers.map((c) => c.disconnect().catch(() => undefined)));
    await broker?.stop();
  });

  async function readTopic(kafka: Kafka, topic: string, readUncommitted: boolean, settleMs: number): Promise<string[]> {
    const consumer = kafka.consumer({ groupId: `reader-${readUncommitted}-${Date.now()}`, readUncommitted });
    consumers.push(consumer);
    const values: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void values.push(String(message.value)) });
    await sleep(settleMs);
    await consumer.disconnect();
    return values;
  }

  it('leaves a committed transaction without markers after the broker restarts, its coordinator done with it', async () => {
    broker = await startBrokerForHangingTransactions();
    // The first transactional id on a fresh broker waits for __transaction_state to be created and
    // led (slow on a loaded machine: CI once gave up at kafkajs's default 5 retries): retry patiently.
    const kafka = new Kafka({ brokers: broker.brokers, clientId: 'hanging-transaction-test', logLevel: logLevel.NOTHING, retry: { retries: 30, maxRetryTime: 2_000 } });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'a', numPartitions: 2 }, { topic: 'b', numPartitions: 2 }], waitForLeaders: true });
    await awaitGroupCoordinator(admin, 'g', 'a');

    const producer = kafka.producer({ transactionalId: 'T', idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const [hung] = await makeHangingTransaction({
      broker,
      transactionalIds: ['T'],
      commit: async () => {
        const txn = await producer.transaction();
        for (const [topic, partition] of [['a', 0], ['a', 1], ['b', 0], ['b', 1]] as const) {
          await txn.send({ topic, messages: [{ value: `${topic}-${partition}`, partition }] });
        }
        await txn.sendOffsets({ consumerGroupId: 'g', topics: [{ topic: 'a', partitions: [{ partition: 0, offset: '1' }] }] });
        await txn.commit();
      },
    });
    await producer.disconnect().catch(() => undefined);

    expect(hung.before.state).toBe('PrepareCommit');
    expect(hung.after).toMatchObject({ state: 'CompleteCommit', partitions: [] });
    const names = hung.partitions.map((p) => `${p.topic}-${p.partition}`).sort();
    expect(names.filter((n) => !n.startsWith('__consumer_offsets'))).toEqual(['a-0', 'a-1', 'b-0', 'b-1']);
    expect(names.filter((n) => n.startsWith('__consumer_offsets'))).toHaveLength(1);
    for (const p of hung.partitions) expect(p).toMatchObject({ startOffset: '0', lastStableOffset: '0' });

    // The next owner takes the id over (InitProducerId, epoch + 1); that fences, but with the
    // coordinator done with the transaction it writes no marker to those partitions either.
    const nextProducer = kafka.producer({ transactionalId: 'T', idempotent: true, maxInFlightRequests: 1 });
    await nextProducer.connect();
    await (await nextProducer.transaction()).abort();
    await nextProducer.disconnect();

    // The records stay where only read_uncommitted sees them.
    expect((await admin.fetchTopicOffsets('a')).map((o) => o.high)).toEqual(['0', '0']);
    expect(await readTopic(kafka, 'a', false, 3_000)).toEqual([]);
    expect((await readTopic(kafka, 'a', true, 3_000)).sort()).toEqual(['a-0', 'a-1']);
    await admin.disconnect();
  }, 300_000);
});
