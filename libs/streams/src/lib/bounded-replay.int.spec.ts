import { Kafka, logLevel, type Consumer, type ConsumerConfig, type KafkaMessage, type Producer } from 'kafkajs';
import { testEnvironment } from '@waybill/devstack';
import { BoundedReplayError, deleteThrowawayGroup, replayPartitions, type ReplayRange } from '../index';

const env = testEnvironment();
// The first transactional id on a fresh broker waits for __transaction_state: retry patiently.
const writers = new Kafka({ brokers: env.brokers, clientId: 'bounded-replay-test-writer', logLevel: logLevel.NOTHING, retry: { retries: 30, maxRetryTime: 2_000 } });
// kafkajs logs the offset reset of the jump test as an error; it is the point of that test.
const quiet = new Kafka({ brokers: env.brokers, clientId: 'bounded-replay-test', logLevel: logLevel.NOTHING });
const openProducers: Producer[] = [];

afterAll(async () => {
  await Promise.all(openProducers.map((p) => p.disconnect().catch(() => undefined)));
  await env.cleanup();
});

async function transactionalWrite(topic: string, partition: number, values: string[], outcome: 'commit' | 'abort'): Promise<void> {
  const producer = writers.producer({ transactionalId: env.uniqueName('writer'), idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const transaction = await producer.transaction();
  await transaction.send({ topic, messages: values.map((value) => ({ key: value, partition, value })) });
  await (outcome === 'commit' ? transaction.commit() : transaction.abort());
  await producer.disconnect();
}

/** The coordinator writes the markers after EndTxn answers: wait until the read_committed ends are `expected`. */
async function awaitEnds(topic: string, expected: Record<number, string>): Promise<void> {
  const admin = await env.admin();
  const read = async () => Object.fromEntries((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, o.high]));
  let ends = await read();
  for (let i = 0; i < 100 && JSON.stringify(ends) !== JSON.stringify(expected); i += 1) {
    await new Promise((r) => setTimeout(r, 100));
    ends = await read();
  }
  expect(ends).toEqual(expected);
}

/** `env.kafka`, but every consumer it makes reports the partitions it processes a batch of. */
function watchedKafka(batchesOf: string[]): Kafka {
  return {
    consumer: (config: ConsumerConfig): Consumer => {
      const consumer = env.kafka.consumer(config);
      consumer.on(consumer.events.START_BATCH_PROCESS, ({ payload }) => batchesOf.push(`${payload.topic}:${payload.partition}`));
      return consumer;
    },
  } as unknown as Kafka;
}

async function groupsNamed(prefix: string): Promise<string[]> {
  const { groups } = await (await env.admin()).listGroups();
  return groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
}

const handed = (calls: Array<{ range: ReplayRange; messages: KafkaMessage[] }>, partition: number) =>
  calls.filter((c) => c.range.partition === partition).flatMap((c) => c.messages.map((m) => `${m.offset}=${String(m.value)}`));

describe('replayPartitions', () => {
  it('ends on commit markers and aborted transactions, hands over only committed records of [from, to) in order, and reads no other partition', async () => {
    const topic = env.uniqueName('replay');
    await env.createTopics([{ topic, partitions: 3 }]);
    // Partition 0: a0-a2 committed (marker 3), x0-x1 aborted (4-5, marker 6): ends on an abort marker.
    await transactionalWrite(topic, 0, ['a0', 'a1', 'a2'], 'commit');
    await transactionalWrite(topic, 0, ['x0', 'x1'], 'abort');
    // Partition 1: b0-b3 (marker 4), b4 (5, marker 6), b5 (7, marker 8); replayed over [1, 7).
    await transactionalWrite(topic, 1, ['b0', 'b1', 'b2', 'b3'], 'commit');
    await transactionalWrite(topic, 1, ['b4'], 'commit');
    await transactionalWrite(topic, 1, ['b5'], 'commit');
    // Partition 2 is not replayed: anything read of it would show as a processed batch.
    await transactionalWrite(topic, 2, ['c0', 'c1'], 'commit');
    await awaitEnds(topic, { 0: '7', 1: '9', 2: '3' });

    const groupId = env.uniqueName('bounded-replay');
    const batchesOf: string[] = [];
    const calls: Array<{ range: ReplayRange; messages: KafkaMessage[] }> = [];
    const progress: Array<[number, number]> = [];
    const began = Date.now();
    const result = await replayPartitions({
      kafka: watchedKafka(batchesOf),
      admin: await env.admin(),
      groupId,
      ranges: [
        { topic, partition: 0, from: 0n, to: 7n },
        { topic, partition: 1, from: 1n, to: 7n },
      ],
      chunkSize: 2,
      stallTimeoutMs: 15_000,
      onRecords: async (range, messages) => {
        calls.push({ range, messages });
      },
      onProgress: (done, total) => void progress.push([done, total]),
    });
    expect(Date.now() - began).toBeLessThan(15_000);

    expect(handed(calls, 0)).toEqual(['0=a0', '1=a1', '2=a2']);
    expect(handed(calls, 1)).toEqual(['1=b1', '2=b2', '3=b3', '5=b4']);
    expect(calls.every((c) => c.messages.length > 0 && c.messages.length <= 2)).toBe(true);
    expect(result).toEqual({ records: 7, offsetsDone: 13, offsetsTotal: 13 });
    expect(progress.at(-1)).toEqual([13, 13]);
    expect(batchesOf.length).toBeGreaterThan(0);
    expect(batchesOf.filter((p) => p === `${topic}:2`)).toEqual([]);
    expect(await groupsNamed(groupId)).toEqual([]);
  });

  it('fails with a clear error when a range cannot reach its end (an open transaction holds the last stable offset), and still deletes its group', async () => {
    const topic = env.uniqueName('replay-stall');
    await env.createTopics([{ topic, partitions: 1 }]);
    await transactionalWrite(topic, 0, ['a0', 'a1'], 'commit');
    await awaitEnds(topic, { 0: '3' });
    // Two records at 3-4 in a transaction that stays open: the high watermark is 5, the LSO 3.
    const holder = writers.producer({ transactionalId: env.uniqueName('holder'), idempotent: true, maxInFlightRequests: 1 });
    openProducers.push(holder);
    await holder.connect();
    const open = await holder.transaction();
    await open.send({ topic, messages: [{ key: 'y', partition: 0, value: 'y0' }, { key: 'y', partition: 0, value: 'y1' }] });

    const groupId = env.uniqueName('bounded-replay-stall');
    const calls: Array<{ range: ReplayRange; messages: KafkaMessage[] }> = [];
    const began = Date.now();
    const replay = replayPartitions({
      kafka: env.kafka,
      admin: await env.admin(),
      groupId,
      ranges: [{ topic, partition: 0, from: 0n, to: 5n }],
      stallTimeoutMs: 6_000,
      onRecords: async (range, messages) => {
        calls.push({ range, messages });
      },
    });
    const error = await replay.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BoundedReplayError);
    expect((error as Error).message).toBe(`replay stalled for 6 s: ${topic}:0 at 3 of 5`);
    expect(Date.now() - began).toBeGreaterThanOrEqual(6_000);
    expect(handed(calls, 0)).toEqual(['0=a0', '1=a1']);
    expect(await groupsNamed(groupId)).toEqual([]);
    await open.abort();
  });

  it('fails rather than skip records when the consumer fetches past the position (the range starts below the log start)', async () => {
    const topic = env.uniqueName('replay-jump');
    await env.createTopics([{ topic, partitions: 1 }]);
    await transactionalWrite(topic, 0, ['a0', 'a1', 'a2', 'a3'], 'commit');
    await awaitEnds(topic, { 0: '5' });
    const admin = await env.admin();
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '2' }] });

    const groupId = env.uniqueName('bounded-replay-jump');
    const calls: KafkaMessage[][] = [];
    const error = await replayPartitions({
      kafka: quiet,
      admin,
      groupId,
      ranges: [{ topic, partition: 0, from: 0n, to: 5n }],
      stallTimeoutMs: 15_000,
      onRecords: async (_range, messages) => void calls.push(messages),
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BoundedReplayError);
    expect((error as Error).message).toBe(`replay of ${topic}:0 jumped to 2, expected 0`);
    expect(calls).toEqual([]);
    expect(await groupsNamed(groupId)).toEqual([]);
  });

  it('rethrows an error of onRecords unchanged', async () => {
    const topic = env.uniqueName('replay-throws');
    await env.createTopics([{ topic, partitions: 1 }]);
    await transactionalWrite(topic, 0, ['a0'], 'commit');
    await awaitEnds(topic, { 0: '2' });
    const thrown = new Error('the store moved on');
    const groupId = env.uniqueName('bounded-replay-throws');
    await expect(
      replayPartitions({
        kafka: env.kafka,
        admin: await env.admin(),
        groupId,
        ranges: [{ topic, partition: 0, from: 0n, to: 2n }],
        onRecords: async () => {
          throw thrown;
        },
      }),
    ).rejects.toBe(thrown);
    expect(await groupsNamed(groupId)).toEqual([]);
  });

  it('needs no consumer for empty ranges, and deleting a group that does not exist is no error', async () => {
    const kafka = { consumer: () => { throw new Error('no consumer expected'); } } as unknown as Kafka;
    await expect(
      replayPartitions({ kafka, admin: await env.admin(), groupId: 'never', ranges: [{ topic: 'nowhere', partition: 0, from: 4n, to: 4n }], onRecords: async () => undefined }),
    ).resolves.toEqual({ records: 0, offsetsDone: 0, offsetsTotal: 0 });
    await expect(deleteThrowawayGroup(await env.admin(), env.uniqueName('never-created'))).resolves.toBeUndefined();
  });
});
