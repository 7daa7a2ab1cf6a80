import { Kafka, logLevel } from 'kafkajs';
import { testEnvironment } from '@waybill/devstack';
import { openTransactions } from './hanging-transactions';
import { KafkaWire } from './kafka-wire';

// kafka-wire reaches into kafkajs's private cluster and speaks DescribeTransactions itself: this
// is the test that says so the day either stops working.
const env = testEnvironment();
const writers = new Kafka({ brokers: env.brokers, clientId: 'kafka-wire-test', logLevel: logLevel.NOTHING, retry: { retries: 30, maxRetryTime: 2_000 } });

afterAll(() => env.cleanup());

describe('KafkaWire', () => {
  it('describes transactions, reads both ends of a partition and every record with its producer, and ends an empty transaction', async () => {
    const topic = env.uniqueName('wire');
    await env.createTopics([{ topic, partitions: 1 }]);
    const wire = new KafkaWire(env.kafka);
    await wire.connect();
    try {
      const transactionalId = env.uniqueName('wire-tx');
      expect(await wire.describeTransaction(transactionalId)).toBeUndefined();

      const producer = writers.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      const committed = await producer.transaction();
      await committed.send({ topic, messages: [{ key: 'a', value: '1', partition: 0 }, { key: 'b', value: '2', partition: 0 }] });
      await committed.commit();
      const afterCommit = await wire.describeTransaction(transactionalId);
      expect(afterCommit).toMatchObject({ state: expect.stringMatching(/^(PrepareCommit|CompleteCommit)$/), producerEpoch: 0 });
      if (!afterCommit) throw new Error('no transaction state after a commit');
      const { producerId } = afterCommit;
      expect(producerId).toMatch(/^\d+$/);

      const aborted = await producer.transaction();
      await aborted.send({ topic, messages: [{ key: 'c', value: '3', partition: 0 }] });
      await aborted.abort();
      await producer.disconnect();
      expect((await wire.describeTransaction(transactionalId))?.state).toMatch(/^(PrepareAbort|CompleteAbort)$/);

      // Two records and a commit marker, one record and an abort marker: offsets 0..4, end 5.
      let ends = await wire.offsets([{ topic, partitions: [0] }]);
      for (let i = 0; i < 50 && ends.get(`${topic}:0`)?.stable !== 5n; i += 1) {
        await new Promise((r) => setTimeout(r, 100));
        ends = await wire.offsets([{ topic, partitions: [0] }]);
      }
      expect(ends.get(`${topic}:0`)).toEqual({ topic, partition: 0, stable: 5n, high: 5n });
      const records = await wire.readUncommitted(topic, 0, 0n, 5n);
      expect(records.map((r) => [r.offset, r.isControlRecord, r.batchContext.producerId])).toEqual([
        ['0', false, producerId],
        ['1', false, producerId],
        ['2', true, producerId],
        ['3', false, producerId],
        ['4', true, producerId],
      ]);
      expect(openTransactions(records)).toEqual(new Map());

      // A fence, then an empty transaction of the new epoch: a marker and no record.
      const fenced = await wire.initProducerId(transactionalId);
      expect(fenced).toEqual({ producerId: producerId, producerEpoch: 1 });
      await wire.endEmptyTransaction({ transactionalId, ...fenced, topics: [{ topic, partitions: [0] }], commit: true });
      for (let i = 0; i < 50 && (await wire.offsets([{ topic, partitions: [0] }])).get(`${topic}:0`)?.high !== 6n; i += 1) await new Promise((r) => setTimeout(r, 100));
      const tail = await wire.readUncommitted(topic, 0, 5n, 6n);
      expect(tail.map((r) => [r.offset, r.isControlRecord, r.batchContext.producerEpoch])).toEqual([['5', true, 1]]);
    } finally {
      await wire.disconnect();
    }
  });
});
