import type { Producer } from 'kafkajs';
import { createSerde, kafkajsRegistryClient } from '@waybill/contracts';
import { testEnvironment, type TestEnvironment } from '@waybill/devstack';
import { checkHistory, transactionFates } from './history-checker';
import { readTopicHistory } from './topic-history';

// The history checker's reader against a real broker: committed, aborted and still-open
// transactions beside plain records, read both read_uncommitted (with markers) and read_committed.

describe('readTopicHistory', () => {
  let env: TestEnvironment;
  const producers: Producer[] = [];

  beforeAll(() => {
    env = testEnvironment();
  });
  afterAll(async () => {
    await Promise.allSettled(producers.map((p) => p.disconnect()));
    await env.cleanup();
  });

  async function producer(transactionalId?: string): Promise<Producer> {
    const p = env.kafka.producer(transactionalId ? { transactionalId, idempotent: true, maxInFlightRequests: 1 } : { idempotent: true, maxInFlightRequests: 1 });
    await p.connect();
    producers.push(p);
    return p;
  }

  const serde = () => createSerde({ registry: kafkajsRegistryClient(env.schemaRegistryUrl) });
  const value = (text: string) => ({ key: 'k', value: Buffer.from(text) });

  it('gives every record with its transaction’s fate, what read_committed returns, and a transaction left open as hanging', async () => {
    const [main, quiet] = [env.uniqueName('history-main'), env.uniqueName('history-open')];
    await env.createTopics([{ topic: main, partitions: 2 }, { topic: quiet }]);

    const plain = await producer();
    await plain.send({ topic: main, messages: [{ ...value('plain-0'), partition: 0 }, { ...value('plain-1'), partition: 0 }] });
    const committing = await (await producer(env.uniqueName('committing'))).transaction();
    await committing.send({ topic: main, messages: [{ ...value('a-0'), partition: 0 }, { ...value('a-1'), partition: 1 }] });
    await committing.commit();
    const aborting = await (await producer(env.uniqueName('aborting'))).transaction();
    await aborting.send({ topic: main, messages: [{ ...value('b-0'), partition: 0 }] });
    await aborting.abort();
    const left = await (await producer(env.uniqueName('left-open'))).transaction();
    await left.send({ topic: quiet, messages: [value('c-0')] });

    const history = await readTopicHistory(env.kafka, serde(), env.brokers, { topics: [main, quiet], openTransactionGraceMs: 2_000 });
    await left.abort();

    const { fates, open } = transactionFates(history.log);
    const fateOf = (text: string) => {
      // Data records in offset order per partition are: main:0 plain-0, plain-1, a-0, (marker), b-0, (marker); main:1 a-1, (marker); quiet:0 c-0.
      const where = { 'plain-0': `${main}:0@0`, 'plain-1': `${main}:0@1`, 'a-0': `${main}:0@2`, 'b-0': `${main}:0@4`, 'a-1': `${main}:1@0`, 'c-0': `${quiet}:0@0` }[text];
      return fates.get(where ?? '');
    };
    expect(['plain-0', 'plain-1', 'a-0', 'a-1', 'b-0', 'c-0'].map(fateOf)).toEqual(['not transactional', 'not transactional', 'committed', 'committed', 'aborted', 'open']);
    expect(history.log.filter((r) => r.marker).map((r) => `${r.topic === main ? 'main' : 'quiet'}:${r.partition}@${r.offset} ${r.marker}`).sort()).toEqual(['main:0@3 commit', 'main:0@5 abort', 'main:1@1 commit'].sort());
    expect(open).toEqual([expect.objectContaining({ topic: quiet, partition: 0, firstOffset: '0', records: 1 })]);

    expect(history.committed.map((r) => (r.value as Buffer).toString()).sort()).toEqual(['a-0', 'a-1', 'plain-0', 'plain-1']);
    expect(history.logEnds).toEqual({ [`${main}:0`]: '6', [`${main}:1`]: '2', [`${quiet}:0`]: '1' });
    // The open transaction holds read_committed back at its first offset.
    expect(history.committedEnds).toEqual({ [`${main}:0`]: '6', [`${main}:1`]: '2', [`${quiet}:0`]: '0' });

    const verdict = checkHistory({ ...history, acknowledged: [], balances: [] });
    expect(verdict.anomaliesByKind).toMatchObject({ 'hanging transaction': 1, 'aborted read': 0, 'uncommitted read': 0, 'unread commit': 0 });
  }, 90_000);

  it('waits for an open transaction that ends within the grace period, and reads its marker', async () => {
    const topic = env.uniqueName('history-late');
    await env.createTopics([{ topic }]);
    const late = await (await producer(env.uniqueName('late'))).transaction();
    await late.send({ topic, messages: [value('late-0')] });
    const ended = new Promise<void>((resolve, reject) => setTimeout(() => late.commit().then(resolve, reject), 10_000));

    const history = await readTopicHistory(env.kafka, serde(), env.brokers, { topics: [topic], openTransactionGraceMs: 30_000 });
    await ended;

    expect(transactionFates(history.log).open).toEqual([]);
    expect(history.waitedForOpenTransactionsMs).toBeGreaterThan(2_000);
    expect(history.committed.map((r) => (r.value as Buffer).toString())).toEqual(['late-0']);
    expect(history.committedEnds).toEqual({ [`${topic}:0`]: '2' });
  }, 90_000);
});
