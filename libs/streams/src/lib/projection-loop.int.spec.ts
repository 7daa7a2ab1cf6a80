import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import type Redis from 'ioredis';
import { testEnvironment } from '@waybill/devstack';
import { UndecodableMessageError } from '@waybill/contracts';
import { createMetrics } from '@waybill/platform';
import { ProjectionLoop, type Projection } from '../index';
import { capturingLogger } from '../../test-fixtures/harness';

const env = testEnvironment();
const redis = env.redis();
const writers = new Kafka({ brokers: env.brokers, clientId: 'projection-loop-writer', logLevel: logLevel.NOTHING, retry: { retries: 30, maxRetryTime: 2_000 } });

afterAll(() => env.cleanup());

/** A read model of running sums per key: each record `{"n": 3}` adds 3 to its key's sum. */
function sums(prefix: string): Projection<{ key: string; n: number }> {
  const sumKey = (key: string) => `${prefix}:sum:${key}`;
  return {
    offsetsKey: () => `${prefix}:offsets`,
    offsetField: (topic, partition) => `${topic}:${partition}`,
    decode: async (_topic, _partition, message: KafkaMessage) => {
      const text = message.value?.toString() ?? '';
      try {
        return { key: message.key?.toString() ?? '', n: (JSON.parse(text) as { n: number }).n };
      } catch (cause) {
        throw new UndecodableMessageError('AVRO_DECODE_FAILED', `not JSON: ${text}`, {}, { cause });
      }
    },
    plan: async ({ records }) => {
      const keys = [...new Set(records.map((r) => sumKey(r.value.key)))];
      const values = await redis.mget(...keys);
      const before = new Map(keys.map((k, i) => [k, values[i] ?? null]));
      const after = new Map<string, number>();
      for (const { value } of records) after.set(sumKey(value.key), (after.get(sumKey(value.key)) ?? Number(before.get(sumKey(value.key)) ?? 0)) + value.n);
      return {
        expect: [...before],
        writes: [...after].map(([key, sum]) => ({ op: 'set' as const, key, value: String(sum) })),
        counts: { applied: records.length },
      };
    },
  };
}

async function write(topic: string, partition: number, records: Array<{ key: string; value: string }>, outcome: 'commit' | 'abort') {
  const producer = writers.producer({ transactionalId: env.uniqueName('writer'), idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const transaction = await producer.transaction();
  await transaction.send({ topic, messages: records.map((r) => ({ ...r, partition })) });
  await (outcome === 'commit' ? transaction.commit() : transaction.abort());
  await producer.disconnect();
}

const adds = (key: string, ...ns: number[]) => ns.map((n) => ({ key, value: JSON.stringify({ n }) }));

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function loop(prefix: string, topic: string, groupId: string, client: Redis, logger = capturingLogger().logger) {
  return new ProjectionLoop({
    app: groupId,
    config: { TOPIC_PREFIX: '', MAX_BATCH_SIZE: 4, PARTITIONS_CONCURRENTLY: 2, SESSION_TIMEOUT_MS: 10_000, OFFSETS_WATCH_INTERVAL_MS: 200 },
    kafka: env.kafka,
    redis: client,
    topics: [topic],
    projection: sums(prefix),
    onCrash: (error) => {
      throw error;
    },
    logger,
    metrics: createMetrics(groupId),
  });
}

describe('ProjectionLoop', () => {
  it('projects committed records once across restarts and a flushed Redis, and dead-letters what never decodes', async () => {
    const topic = env.uniqueName('projected');
    const prefix = env.uniqueName('sums');
    const groupId = env.uniqueName('projection-group');
    await env.createTopics([{ topic, partitions: 2 }, { topic: `${topic}.dlq` }]);
    await write(topic, 0, adds('a', 1, 2, 3, 4, 5, 6), 'commit');
    await write(topic, 0, adds('a', 1000, 1000), 'abort');
    await write(topic, 1, [...adds('b', 10, 20), { key: 'b', value: 'not json' }, ...adds('b', 30)], 'commit');

    const ends = async () => new Map((await (await env.admin()).fetchTopicOffsets(topic)).map((o) => [`${topic}:${o.partition}`, o.high]));
    const reflected = async () => {
      const [stored, end] = await Promise.all([redis.hgetall(`${prefix}:offsets`), ends()]);
      return [...end].every(([field, high]) => stored[field] === high);
    };
    const sum = async (key: string) => Number((await redis.get(`${prefix}:sum:${key}`)) ?? 0);

    const first = loop(prefix, topic, groupId, env.redis());
    await first.start();
    try {
      await eventually('the first records to be reflected', reflected);
      expect([await sum('a'), await sum('b')]).toEqual([21, 60]);
      // Every offset up to the end is reflected, markers and aborted records too: partition 0 holds six
      // records, a commit marker, two aborted records and an abort marker; partition 1 four and a marker.
      expect(await redis.hgetall(`${prefix}:offsets`)).toEqual({ [`${topic}:0`]: '10', [`${topic}:1`]: '5' });
    } finally {
      await first.stop();
    }

    // A second instance of the group starts where Redis says, whatever the group committed.
    await (await env.admin()).setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '0' }, { partition: 1, offset: '0' }] });
    await write(topic, 0, adds('a', 100), 'commit');
    const { logger, lines } = capturingLogger();
    const second = loop(prefix, topic, groupId, env.redis(), logger);
    await second.start();
    try {
      await eventually('the new record to be reflected', reflected);
      expect([await sum('a'), await sum('b')]).toEqual([121, 60]);

      // Redis loses the read model while the partitions are quiet: the offsets watch notices and
      // the read model is projected again from the log start, to the same sums.
      await redis.del(...(await redis.keys(`${prefix}:*`)));
      await eventually('the read model to be projected again', async () => (await reflected()) && (await sum('a')) === 121);
      expect(await sum('b')).toBe(60);
      expect(lines.some((l) => String(l.msg).includes('the read model lost this partition'))).toBe(true);
    } finally {
      await second.stop();
    }

    // The undecodable record went to the dead-letter topic, once per projection of it (at least once).
    const dlq = await (await env.admin()).fetchTopicOffsets(`${topic}.dlq`);
    expect(Number(dlq[0].high)).toBeGreaterThanOrEqual(1);
  });
  it("commits a partition's group offset at most once an interval, and the last one at idle", async () => {
    const topic = env.uniqueName('projected');
    const prefix = env.uniqueName('sums');
    const groupId = env.uniqueName('projection-group');
    await env.createTopics([{ topic, partitions: 1 }, { topic: `${topic}.dlq` }]);
    let offsetCommits = 0;
    // The loop's own consumer, with its OffsetCommit requests counted.
    const kafka = Object.create(env.kafka) as typeof env.kafka;
    kafka.consumer = (config) => {
      const consumer = env.kafka.consumer(config);
      consumer.on(consumer.events.REQUEST, ({ payload }) => {
        if (payload.apiName === 'OffsetCommit') offsetCommits += 1;
      });
      return consumer;
    };
    const metrics = createMetrics(groupId);
    const projector = new ProjectionLoop({
      app: groupId,
      config: { TOPIC_PREFIX: '', MAX_BATCH_SIZE: 4, PARTITIONS_CONCURRENTLY: 2, SESSION_TIMEOUT_MS: 10_000, OFFSETS_WATCH_INTERVAL_MS: 200 },
      kafka,
      redis: env.redis(),
      topics: [topic],
      projection: sums(prefix),
      onCrash: (error) => {
        throw error;
      },
      logger: capturingLogger().logger,
      metrics,
      groupCommitIntervalMs: 1_000,
    });
    const sum = async () => Number((await redis.get(`${prefix}:sum:a`)) ?? 0);
    const admin = await env.admin();
    const committed = async () => (await admin.fetchOffsets({ groupId, topics: [topic] }))[0].partitions[0].offset;
    await projector.start();
    try {
      // One record at a time, each projected (a chunk of its own) before the next is written.
      for (let i = 1; i <= 8; i += 1) {
        await write(topic, 0, adds('a', 1), 'commit');
        await eventually(`record ${i} to be projected`, async () => (await sum()) === i, 10_000);
      }
      const chunks = (await metrics.batchDuration.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
      expect(chunks).toBeGreaterThanOrEqual(8);
      const [{ high }] = await admin.fetchTopicOffsets(topic);
      // The last offset is committed at idle, within the interval.
      await eventually('the group offset to reach the end', async () => (await committed()) === high, 5_000);
      expect(offsetCommits).toBeLessThan(chunks);
    } finally {
      await projector.stop();
    }
  });
});
