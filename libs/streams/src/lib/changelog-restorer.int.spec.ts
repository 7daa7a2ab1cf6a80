import { Kafka, logLevel } from 'kafkajs';
import { testEnvironment } from '@waybill/devstack';
import { ChangelogRestorer, IllegalStateTransitionError, RedisStateStore, type StateStoreDefinition } from '../index';
import { KafkaWire } from './kafka-wire';
import { counterStore } from '../../test-fixtures/counter';
import { capturingLogger } from '../../test-fixtures/harness';

const env = testEnvironment();
const redis = env.redis();
// The first transactional id on a fresh broker waits for __transaction_state: retry patiently.
const writers = new Kafka({ brokers: env.brokers, clientId: 'restorer-test-writer', logLevel: logLevel.NOTHING, retry: { retries: 30, maxRetryTime: 2_000 } });

afterAll(() => env.cleanup());

async function transactionalWrite(topic: string, partition: number, records: Array<{ key: string; version: number }>, outcome: 'commit' | 'abort') {
  const producer = writers.producer({ transactionalId: env.uniqueName('writer'), idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const transaction = await producer.transaction();
  await transaction.send({ topic, messages: records.map((r) => ({ key: r.key, partition, value: JSON.stringify({ version: r.version }) })) });
  await (outcome === 'commit' ? transaction.commit() : transaction.abort());
  await producer.disconnect();
}

describe('ChangelogRestorer', () => {
  it('terminates on a changelog that ends with a commit marker or an aborted transaction, and applies only committed records', async () => {
    const topic = env.uniqueName('changelog');
    const owner = env.uniqueName('owner');
    const prefix = env.uniqueName('restore-store');
    await env.createTopics([{ topic, partitions: 2 }]);
    // Partition 0: three records, then the commit marker (offset 3). End offset 4, never delivered.
    await transactionalWrite(topic, 0, [{ key: 'a', version: 1 }, { key: 'b', version: 1 }, { key: 'a', version: 2 }], 'commit');
    // Partition 1: two committed, then an aborted transaction: records 3-4 and the abort marker at 5.
    await transactionalWrite(topic, 1, [{ key: 'c', version: 1 }, { key: 'c', version: 2 }], 'commit');
    await transactionalWrite(topic, 1, [{ key: 'c', version: 3 }, { key: 'd', version: 1 }], 'abort');
    const admin = await env.admin();
    // The coordinator writes the markers after EndTxn answers: the end offsets get there shortly.
    const readEnds = async () => Object.fromEntries((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, o.high]));
    let ends = await readEnds();
    for (let i = 0; i < 100 && !(ends[0] === '4' && ends[1] === '6'); i += 1) {
      await new Promise((r) => setTimeout(r, 100));
      ends = await readEnds();
    }
    expect(ends).toEqual({ 0: '4', 1: '6' });

    const store = new RedisStateStore(redis, prefix, counterStore(topic));
    const { logger } = capturingLogger('warn');
    const wire = new KafkaWire(env.kafka);
    await wire.connect();
    const restore = (partition: number) => new ChangelogRestorer({ kafka: env.kafka, admin, wire, store, partition, ownerGroupId: owner, logger, stallTimeoutMs: 15_000 });

    const began = Date.now();
    const first = restore(0);
    expect(first.state).toBe('REGISTERED');
    const result0 = await first.restore();
    expect(first.state).toBe('COMPLETED');
    expect(result0).toMatchObject({ changelogOffset: '4', endOffset: 4n, recordsApplied: 3, wiped: false });
    expect(() => first.transitTo('RESTORING')).toThrow(IllegalStateTransitionError);

    const result1 = await restore(1).restore();
    expect(result1).toMatchObject({ changelogOffset: '6', endOffset: 6n, recordsApplied: 2 });
    expect(Date.now() - began).toBeLessThan(15_000);

    expect(await store.getMany(0, ['a', 'b'])).toEqual(new Map([['a', { count: 2, version: 2 }], ['b', { count: 1, version: 1 }]]));
    expect(await store.getMany(1, ['c', 'd'])).toEqual(new Map([['c', { count: 2, version: 2 }], ['d', undefined]]));
    expect(await store.readMeta(1)).toEqual({ changelogOffset: '6', shapeVersion: 1 });

    // Up to date already: nothing to read, no consumer needed.
    expect(await restore(0).restore()).toMatchObject({ changelogOffset: '4', recordsApplied: 0 });

    // A store with states but no offset is not trusted: wiped, then rebuilt from the beginning.
    await redis.hdel(store.metaKey(1), 'changelogOffset', 'shapeVersion');
    await redis.hset(store.stateKey(1), 'c', JSON.stringify({ count: 50, version: 50 }));
    expect(await restore(1).restore()).toMatchObject({ changelogOffset: '6', recordsApplied: 2, wiped: true });
    expect(await store.get(1, 'c')).toEqual({ count: 2, version: 2 });

    // The throwaway restore groups are gone.
    const { groups } = await admin.listGroups();
    expect(groups.filter((g) => g.groupId.startsWith(`${owner}.restore`))).toEqual([]);
    await redis.del(store.stateKey(0), store.metaKey(0), store.stateKey(1), store.metaKey(1));
    await wire.disconnect();
  });

  it('folds every key a record changes (its own and alsoUpdates), so a store can keep an index beside its states', async () => {
    const topic = env.uniqueName('changelog-index');
    await env.createTopics([{ topic, partitions: 1 }]);
    await transactionalWrite(topic, 0, [{ key: 'a', version: 1 }, { key: 'b', version: 1 }, { key: 'a', version: 2 }], 'commit');
    type Value = { count: number } | { seenAt: string };
    const versionOf = (value: Buffer | null) => (JSON.parse(String(value)) as { version: number }).version;
    const indexed: StateStoreDefinition<Value> = {
      name: 'indexed',
      changelogTopic: topic,
      shapeVersion: 1,
      alsoUpdates: (record) => [`#v:${record.key}:${versionOf(record.value)}`],
      apply: (state, record, key) => (key === record.key ? { count: (state && 'count' in state ? state.count : 0) + 1 } : { seenAt: record.offset }),
      serialize: (state) => JSON.stringify(state),
      deserialize: (text) => JSON.parse(text) as Value,
    };
    const store = new RedisStateStore(redis, env.uniqueName('index-store'), indexed);
    const admin = await env.admin();
    const wire = new KafkaWire(env.kafka);
    await wire.connect();
    const { logger } = capturingLogger('warn');
    const result = await new ChangelogRestorer({ kafka: env.kafka, admin, wire, store, partition: 0, ownerGroupId: env.uniqueName('owner'), logger, stallTimeoutMs: 15_000 }).restore();
    expect(result).toMatchObject({ recordsApplied: 3 });
    expect(await store.getMany(0, ['a', 'b', '#v:a:1', '#v:b:1', '#v:a:2', '#v:b:2'])).toEqual(
      new Map<string, Value | undefined>([
        ['a', { count: 2 }],
        ['b', { count: 1 }],
        ['#v:a:1', { seenAt: '0' }],
        ['#v:b:1', { seenAt: '1' }],
        ['#v:a:2', { seenAt: '2' }],
        ['#v:b:2', undefined],
      ]),
    );
    await wire.disconnect();
  });
});
