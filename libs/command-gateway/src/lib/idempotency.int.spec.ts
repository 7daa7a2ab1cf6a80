import type { Cluster, Redis } from 'ioredis';
import pino from 'pino';
import { testEnvironment } from '@waybill/devstack';
import { IdempotencyStore } from './idempotency';
import { OutcomeTracker } from './outcome-tracker';

// Against a real Redis and a real three-master Redis Cluster (issue 18): every key the gateway
// writes is its own (one claim, one pending marker, one answer), so the same code runs on both.
const env = testEnvironment();
afterAll(() => env.cleanup());
const redisKinds: Array<[string, () => Redis | Cluster]> = [
  ['one Redis', () => env.redis()],
  ['a Redis Cluster', () => env.redisCluster()],
];

describe.each(redisKinds)('IdempotencyStore.release on %s', (_kind, redisOf) => {
  it('frees the key for the claim that failed, and leaves another claim alone', async () => {
    const store = new IdempotencyStore(redisOf(), env.uniqueName('idem'), 60);
    const record = { commandId: 'c-1', shipmentId: 'S-1', fingerprint: 'f' };
    expect(await store.claim('ana', 'k', record)).toEqual({ kind: 'new' });
    expect((await store.claim('ana', 'k', { ...record, commandId: 'c-2' })).kind).toBe('replay');

    await store.release('ana', 'k', 'c-other');
    expect((await store.claim('ana', 'k', { ...record, commandId: 'c-3' })).kind).toBe('replay');

    await store.release('ana', 'k', 'c-1');
    expect(await store.claim('ana', 'k', { ...record, commandId: 'c-4' })).toEqual({ kind: 'new' });
    await store.release('ana', 'k', 'c-1');
    expect(await store.claim('ana', 'k', { ...record, commandId: 'c-5' })).toMatchObject({ kind: 'replay', record: { commandId: 'c-4' } });
  });
});

/** A tracker of `topic` whose records read `<commandId>=<outcome>`. */
function trackerOf(kafka: typeof env.kafka, redis: Redis | Cluster, topic: string, groupId: string): OutcomeTracker<string> {
  return new OutcomeTracker<string>(
    kafka,
    redis,
    {
      topic,
      groupId,
      keyPrefix: env.uniqueName('gateway'),
      ttlSeconds: 60,
      replayMs: 60_000,
      onCrash: (err) => {
        throw err;
      },
      read: async (value) => {
        const [commandId, outcome] = value.toString().split('=');
        return { commandId, outcome };
      },
    },
    pino({ level: 'silent' }),
  );
}

describe.each(redisKinds)('OutcomeTracker on %s', (_kind, redisOf) => {
  it('keeps the answers of many commands, one batch at a time, where any instance finds them', async () => {
    const topic = env.uniqueName('outcomes');
    await env.createTopics([{ topic, partitions: 2 }]);
    const tracker = trackerOf(env.kafka, redisOf(), topic, env.uniqueName('tracker'));
    await tracker.start();
    const commandIds = Array.from({ length: 50 }, (_, i) => `cmd-${i}`);
    const waits = commandIds.map((id) => tracker.expect(id));
    const producer = env.kafka.producer();
    await producer.connect();
    // One send, so each partition's answers arrive as one batch: 25 keys of 25 slots in each.
    await producer.send({ topic, messages: commandIds.map((id, i) => ({ key: id, value: `${id}=accepted-${i}`, partition: i % 2 })) });
    await producer.disconnect();
    const answered = await Promise.all(waits.map((wait) => wait(20_000)));
    expect(answered.map((a) => a?.outcome)).toEqual(commandIds.map((_, i) => `accepted-${i}`));
    for (const [i, id] of commandIds.entries()) expect((await tracker.find(id))?.outcome).toBe(`accepted-${i}`);
    await tracker.stop();
  }, 60_000);
});

describe('OutcomeTracker group offsets', () => {
  it('commits how far it read once a second, not after every batch', async () => {
    const topic = env.uniqueName('outcomes');
    await env.createTopics([{ topic, partitions: 1 }]);
    const groupId = env.uniqueName('tracker');
    let offsetCommits = 0;
    let batches = 0;
    // The tracker's own consumer, with its OffsetCommit requests and its batches counted.
    const kafka = Object.create(env.kafka) as typeof env.kafka;
    kafka.consumer = (config) => {
      const consumer = env.kafka.consumer(config);
      consumer.on(consumer.events.REQUEST, ({ payload }) => {
        if (payload.apiName === 'OffsetCommit') offsetCommits += 1;
      });
      consumer.on(consumer.events.END_BATCH_PROCESS, () => (batches += 1));
      return consumer;
    };
    const tracker = trackerOf(kafka, env.redis(), topic, groupId);
    await tracker.start();
    const producer = env.kafka.producer();
    await producer.connect();
    const admin = await env.admin();
    try {
      // One answer at a time, each awaited, so each arrives in a batch of its own.
      for (let i = 0; i < 10; i += 1) {
        const wait = tracker.expect(`cmd-${i}`);
        await producer.send({ topic, messages: [{ key: `cmd-${i}`, value: `cmd-${i}=accepted` }] });
        expect((await wait(10_000))?.outcome).toBe('accepted');
      }
      const [{ high }] = await admin.fetchTopicOffsets(topic);
      const deadline = Date.now() + 5_000;
      const committed = async () => (await admin.fetchOffsets({ groupId, topics: [topic] }))[0].partitions[0].offset;
      while ((await committed()) !== high && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(await committed()).toBe(high);
      expect(batches).toBeGreaterThanOrEqual(10);
      expect(offsetCommits).toBeLessThan(batches / 2);
    } finally {
      await producer.disconnect();
      await tracker.stop();
    }
  }, 60_000);
});
