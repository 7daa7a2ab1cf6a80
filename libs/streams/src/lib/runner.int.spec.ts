import { testEnvironment } from '@waybill/devstack';
import { createMetrics } from '@waybill/platform';
import { runProcessor, storeKeys, type ProcessorRunner } from '../index';
import { CounterDecodeError, counterProcessor, counterStore, type CounterTopics } from '../../test-fixtures/counter';
import { capturingLogger, checkInvariants, collect, deleteStoreKeys, json, makeCommands, produce, storedStates } from '../../test-fixtures/harness';

const env = testEnvironment();
const redis = env.redis();
const PARTITIONS = 3;

async function setup(partitions = PARTITIONS) {
  const base = env.uniqueName('counter');
  const topics: CounterTopics = { commands: `${base}.cmds`, events: `${base}.events`, outcomes: `${base}.outcomes` };
  await env.createTopics([
    { topic: topics.commands, partitions },
    { topic: topics.events, partitions },
    { topic: topics.outcomes, partitions: 1 },
    { topic: `${topics.commands}.dlq`, partitions: 1 },
  ]);
  return { topics, groupId: `${base}-reducer`, keyPrefix: `${base}-store`, transactionalIdPrefix: `${base}-tx` };
}

type Setup = Awaited<ReturnType<typeof setup>>;

function start(s: Setup, overrides: Partial<Parameters<typeof runProcessor>[0]> = {}, hooks = {}): Promise<ProcessorRunner> {
  return runProcessor({
    kafka: env.kafka,
    groupId: s.groupId,
    inputTopic: s.topics.commands,
    outputTopics: [s.topics.events, s.topics.outcomes],
    processor: counterProcessor(s.topics, hooks),
    store: counterStore(s.topics.events),
    redis,
    keyPrefix: s.keyPrefix,
    transactionalIdPrefix: s.transactionalIdPrefix,
    decodeErrorClass: CounterDecodeError,
    logger: capturingLogger('warn').logger,
    maxBatchSize: 100,
    ...overrides,
  });
}

afterAll(() => env.cleanup());

describe('runProcessor', () => {
  it('processes every command exactly once, dead-letters a bad record and keeps Redis equal to the changelog', async () => {
    const s = await setup();
    const metrics = createMetrics('streams-test');
    const runner = await start(s, { metrics });
    await runner.ready;
    const outcomes = await collect(env.kafka, s.topics.outcomes);
    const events = await collect(env.kafka, s.topics.events);
    const dlq = await collect(env.kafka, `${s.topics.commands}.dlq`);
    try {
      const first = makeCommands(400, 12, 'a');
      const second = makeCommands(200, 12, 'b');
      await produce(env.kafka, s.topics.commands, first);
      await produce(env.kafka, s.topics.commands, [{ key: 'k5', value: '{not json' }]);
      await produce(env.kafka, s.topics.commands, second);
      const all = [...first, ...second];
      await outcomes.waitFor((r) => r.length >= all.length, 60_000, 'every outcome');
      await dlq.waitFor((r) => r.length >= 1, 10_000, 'the dead letter');

      const expected = checkInvariants(all, outcomes.records, events.records);
      const [dead] = dlq.records;
      expect(dead.key).toBe('k5');
      expect(dead.value?.toString()).toBe('{not json');
      expect(dead.headers).toMatchObject({ 'x-error-code': 'COUNTER_DECODE', 'x-original-topic': s.topics.commands });
      expect(dead.headers['x-error']).toMatch(/not JSON/);
      expect(Number(dead.headers['x-original-partition'])).toBeGreaterThanOrEqual(0);
      expect(dead.headers['x-original-offset']).toMatch(/^\d+$/);

      // Redis catches up right after each commit.
      const deadline = Date.now() + 10_000;
      let states = await storedStates(redis, s.keyPrefix, PARTITIONS);
      while ([...expected].some(([k, n]) => states.get(k)?.count !== n) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        states = await storedStates(redis, s.keyPrefix, PARTITIONS);
      }
      for (const [key, n] of expected) expect(states.get(key)).toEqual({ count: n, version: n });
      for (let p = 0; p < PARTITIONS; p += 1) {
        const meta = await redis.hgetall(storeKeys(s.keyPrefix, 'counter', p).meta);
        expect(meta.shapeVersion).toBe('1');
        expect(BigInt(meta.changelogOffset)).toBeGreaterThan(0n);
      }

      const processed = await metrics.messagesProcessed.get();
      const byOutcome = Object.fromEntries(processed.values.map((v) => [v.labels.outcome, v.value]));
      expect(byOutcome).toEqual({ processed: all.length, 'dead-lettered': 1 });
      const lag = await metrics.consumerLag.get();
      expect(lag.values.length).toBeGreaterThan(0);
    } finally {
      await Promise.all([outcomes.stop(), events.stop(), dlq.stop()]);
      await runner.stop();
    }
    await expect(runner.stopped).resolves.toBeUndefined();
  });

  it('shares the partitions among several consumers in one process, every command exactly once', async () => {
    const s = await setup(6);
    const runner = await start(s, { members: 3 });
    await runner.ready;
    const outcomes = await collect(env.kafka, s.topics.outcomes);
    const events = await collect(env.kafka, s.topics.events);
    try {
      const all = makeCommands(600, 18, 'm');
      await produce(env.kafka, s.topics.commands, all.slice(0, 300));
      await produce(env.kafka, s.topics.commands, all.slice(300));
      await outcomes.waitFor((r) => r.length >= all.length, 60_000, 'every outcome');
      await events.waitFor((r) => r.length >= all.filter((c) => c.op === 'inc').length, 10_000, 'every event');
      const expected = checkInvariants(all, outcomes.records, events.records);
      const deadline = Date.now() + 10_000;
      let states = await storedStates(redis, s.keyPrefix, 6);
      while ([...expected].some(([k, n]) => states.get(k)?.count !== n) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        states = await storedStates(redis, s.keyPrefix, 6);
      }
      for (const [key, n] of expected) expect(states.get(key)).toEqual({ count: n, version: n });
    } finally {
      await Promise.all([outcomes.stop(), events.stop()]);
      await runner.stop();
    }
    await expect(runner.stopped).resolves.toBeUndefined();
  });

  it('restores from the changelog when the store keys disappear while running and between runs', async () => {
    const s = await setup();
    const outcomes = await collect(env.kafka, s.topics.outcomes);
    const events = await collect(env.kafka, s.topics.events);
    const batches = [makeCommands(150, 9, 'r1'), makeCommands(150, 9, 'r2'), makeCommands(150, 9, 'r3')];
    const sent: typeof batches[number] = [];
    const send = async (commands: (typeof batches)[number]) => {
      await produce(env.kafka, s.topics.commands, commands);
      sent.push(...commands);
      await outcomes.waitFor((r) => r.length >= sent.length, 60_000, `${sent.length} outcomes`);
    };
    try {
      let runner = await start(s);
      await runner.ready;
      await send(batches[0]);
      // While running: the next commit's compare-and-set fails, the task restores from offset 0.
      expect(await deleteStoreKeys(redis, s.keyPrefix)).toBeGreaterThan(0);
      await send(batches[1]);
      await runner.stop();

      // Between runs: the keys are gone again, and a stale state without meta must not be trusted.
      await deleteStoreKeys(redis, s.keyPrefix);
      await redis.hset(storeKeys(s.keyPrefix, 'counter', 0).state, 'k0', JSON.stringify({ count: 999, version: 999 }));
      runner = await start(s);
      await runner.ready;
      await send(batches[2]);
      await runner.stop();

      const expected = checkInvariants(sent, outcomes.records, events.records);
      const states = await storedStates(redis, s.keyPrefix, PARTITIONS);
      for (const [key, n] of expected) expect(states.get(key)).toEqual({ count: n, version: n });
    } finally {
      await Promise.all([outcomes.stop(), events.stop()]);
    }
  });

  it('rebuilds a store written with another shape version', async () => {
    const s = await setup(1);
    const outcomes = await collect(env.kafka, s.topics.outcomes);
    const events = await collect(env.kafka, s.topics.events);
    try {
      const first = makeCommands(60, 4, 's1');
      let runner = await start(s);
      await produce(env.kafka, s.topics.commands, first);
      await outcomes.waitFor((r) => r.length >= first.length, 30_000, 'first outcomes');
      await runner.stop();
      // Same offset, wrong numbers, old shape: only a wipe + full restore gets the right answer.
      await redis.hset(storeKeys(s.keyPrefix, 'counter', 0).state, 'k1', JSON.stringify({ count: 1, version: 1 }));
      const { lines, logger } = capturingLogger('warn');
      runner = await start(s, { store: counterStore(s.topics.events, { shapeVersion: 2 }), logger });
      const second = makeCommands(40, 4, 's2');
      await produce(env.kafka, s.topics.commands, second);
      await outcomes.waitFor((r) => r.length >= 100, 30_000, 'second outcomes');
      await runner.stop();
      expect(lines.some((l) => l.code === 'STREAMS_TASK_CORRUPTED')).toBe(true);
      const expected = checkInvariants([...first, ...second], outcomes.records, events.records);
      const states = await storedStates(redis, s.keyPrefix, 1);
      for (const [key, n] of expected) expect(states.get(key)).toEqual({ count: n, version: n });
      expect(await redis.hget(storeKeys(s.keyPrefix, 'counter', 0).meta, 'shapeVersion')).toBe('2');
    } finally {
      await Promise.all([outcomes.stop(), events.stop()]);
    }
  });

  it("stores the broker's offsets for a fold that reads them, and folds once for a store that ignores them", async () => {
    const s = await setup(2);
    const outcomes = await collect(env.kafka, s.topics.outcomes);
    const events = await collect(env.kafka, s.topics.events);
    try {
      let folds = 0;
      const first = makeCommands(120, 6, 'p1');
      let runner = await start(s, { store: counterStore(s.topics.events, { tracksOffset: true, onApply: () => (folds += 1) }) });
      await produce(env.kafka, s.topics.commands, first);
      const incs = (commands: typeof first) => commands.filter((c) => c.op === 'inc').length;
      await outcomes.waitFor((r) => r.length >= first.length, 30_000, 'first outcomes');
      await events.waitFor((r) => r.length >= incs(first), 30_000, 'first events');
      await runner.stop();
      const firstEvents = events.records.length;
      // Decided with predicted offsets, stored after a second fold with the ones the broker gave.
      expect(folds).toBe(2 * firstEvents);
      const lastOffsets = new Map(events.records.map((r) => [r.key, r.offset]));
      const tracked = await storedStates(redis, s.keyPrefix, 2);
      for (const [key, offset] of lastOffsets) expect(tracked.get(key)?.lastOffset).toBe(offset);

      folds = 0;
      const second = makeCommands(90, 6, 'p2');
      runner = await start(s, { store: counterStore(s.topics.events, { ignoresPosition: true, onApply: () => (folds += 1) }) });
      await produce(env.kafka, s.topics.commands, second);
      await outcomes.waitFor((r) => r.length >= first.length + second.length, 30_000, 'second outcomes');
      await events.waitFor((r) => r.length >= incs(first) + incs(second), 30_000, 'second events');
      await runner.stop();
      expect(folds).toBe(events.records.length - firstEvents);
      const expected = checkInvariants([...first, ...second], outcomes.records, events.records);
      const states = await storedStates(redis, s.keyPrefix, 2);
      for (const [key, n] of expected) expect(states.get(key)).toMatchObject({ count: n, version: n });
    } finally {
      await Promise.all([outcomes.stop(), events.stop()]);
    }
  });

  it('fences a zombie: the old owner cannot commit after the new one initialised the transactional id', async () => {
    const s = await setup(1);
    const outcomes = await collect(env.kafka, s.topics.outcomes);
    const events = await collect(env.kafka, s.topics.events);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let blocked!: () => void;
    const isBlocked = new Promise<void>((resolve) => (blocked = resolve));
    const zombieLog = capturingLogger('info');
    try {
      const warmup = makeCommands(30, 3, 'z0');
      // The zombie stalls inside process() on the first command of the second wave: no heartbeats,
      // so the group drops it after the session timeout and hands the partition to the new runner.
      const zombie = await start(s, { sessionTimeout: 6_000, logger: zombieLog.logger }, {
        beforeProcess: async (record: { value: Buffer | null }) => {
          if (record.value?.toString().includes('"z1-0"')) {
            blocked();
            await released;
          }
        },
      });
      await zombie.ready;
      await produce(env.kafka, s.topics.commands, warmup);
      await outcomes.waitFor((r) => r.length >= warmup.length, 30_000, 'warm-up outcomes');
      const wave = makeCommands(60, 3, 'z1');
      await produce(env.kafka, s.topics.commands, wave);
      await isBlocked;

      const successor = await start(s, { sessionTimeout: 6_000 });
      await successor.ready;
      const all = [...warmup, ...wave];
      await outcomes.waitFor((r) => r.length >= all.length, 60_000, 'outcomes from the successor');
      release();
      await new Promise((r) => setTimeout(r, 2_000));
      const more = makeCommands(30, 3, 'z2');
      await produce(env.kafka, s.topics.commands, more);
      all.push(...more);
      await outcomes.waitFor((r) => r.length >= all.length, 60_000, 'all outcomes');
      await Promise.all([zombie.stop(), successor.stop()]);

      expect(zombieLog.lines.some((l) => l.code === 'STREAMS_TASK_MIGRATED')).toBe(true);
      const expected = checkInvariants(all, outcomes.records, events.records);
      expect(outcomes.records.filter((r) => json<{ cmdId: string }>(r).cmdId === 'z1-0')).toHaveLength(1);
      const states = await storedStates(redis, s.keyPrefix, 1);
      for (const [key, n] of expected) expect(states.get(key)).toEqual({ count: n, version: n });
    } finally {
      release();
      await Promise.all([outcomes.stop(), events.stop()]);
    }
  });

  it("crashes loudly when the policy says 'fail', without committing the batch", async () => {
    const s = await setup(1);
    const crashes: Error[] = [];
    const runner = await start(s, { decodeErrorClass: undefined, onCrash: (e) => crashes.push(e) });
    await runner.ready;
    await produce(env.kafka, s.topics.commands, [...makeCommands(5, 2, 'f'), { key: 'k0', value: 'nope' }]);
    await expect(runner.stopped).rejects.toMatchObject({ code: 'STREAMS_BAD_RECORD' });
    expect(crashes).toHaveLength(1);
    const admin = await env.admin();
    const [offsets] = await admin.fetchOffsets({ groupId: s.groupId, topics: [s.topics.commands] });
    // The five good commands shared the bad one's transaction, so nothing was committed.
    expect(offsets.partitions[0].offset).toBe('-1');
    await runner.stop();
  });
  it('commits the offsets of chunks that write nothing once a quiet interval, on the next transaction or at idle', async () => {
    const s = await setup(1);
    const metrics = createMetrics('streams-quiet-test');
    const decided: string[] = [];
    // Writes an outcome for a record saying 'loud', nothing for the others.
    const processor = {
      async process(record: { key: string; value: Buffer | null }) {
        const text = record.value?.toString() ?? '';
        decided.push(text);
        return text.startsWith('loud') ? [{ topic: s.topics.outcomes, key: record.key, value: Buffer.from(text) }] : [];
      },
    };
    const runner = await start(s, { processor, store: undefined, metrics, quietCommitIntervalMs: 1_000 });
    await runner.ready;
    const outcomes = await collect(env.kafka, s.topics.outcomes);
    const admin = await env.admin();
    const committed = async () => (await admin.fetchOffsets({ groupId: s.groupId, topics: [s.topics.commands] }))[0].partitions[0].offset;
    const commitCount = async () => (await metrics.chunkPhaseDuration.get()).values.find((v) => v.metricName?.endsWith('_count') && v.labels.phase === 'commit')?.value ?? 0;
    const chunkCount = async () => (await metrics.batchDuration.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
    try {
      // One record at a time, so that each is a chunk of its own.
      for (let i = 0; i < 8; i += 1) {
        await produce(env.kafka, s.topics.commands, [{ key: 'k', value: `quiet-${i}` }]);
        const deadline = Date.now() + 5_000;
        while (decided.length <= i && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      }
      expect(decided).toHaveLength(8);
      const chunks = await chunkCount();
      const commits = await commitCount();
      // The first quiet chunk commits at once; those within the next second ride along.
      expect(chunks).toBeGreaterThanOrEqual(4);
      expect(commits).toBeLessThan(chunks);
      // At idle the last quiet offset is committed within the interval, not left for ever.
      const deadline = Date.now() + 5_000;
      while ((await committed()) !== '8' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(await committed()).toBe('8');

      await produce(env.kafka, s.topics.commands, [{ key: 'k', value: 'quiet-8' }, { key: 'k', value: 'loud-9' }]);
      await outcomes.waitFor((r) => r.length >= 1, 10_000, 'the loud outcome');
      expect(outcomes.records.map((r) => r.value?.toString())).toEqual(['loud-9']);
      // A chunk that writes commits in its own transaction, past the quiet records before it
      // (read back once the coordinator has written the offsets' marker too).
      const until = Date.now() + 5_000;
      while ((await committed()) !== '10' && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(await committed()).toBe('10');
    } finally {
      await outcomes.stop();
      await runner.stop();
    }
  });
});
