import { testEnvironment } from '@waybill/devstack';
import { exited, spawnRunner } from '../../test-fixtures/child-runner';
import type { CounterTopics } from '../../test-fixtures/counter';
import { checkInvariants, collect, deleteStoreKeys, makeCommands, produce, storedStates, type CommandSpec } from '../../test-fixtures/harness';

const env = testEnvironment();
const redis = env.redis();
const PARTITIONS = 3;

afterAll(() => env.cleanup());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('crash recovery (runner in a child process)', () => {
  it('loses nothing and doubles nothing across SIGKILLs and a wiped store', async () => {
    const base = env.uniqueName('crash');
    const topics: CounterTopics = { commands: `${base}.cmds`, events: `${base}.events`, outcomes: `${base}.outcomes` };
    await env.createTopics([
      { topic: topics.commands, partitions: PARTITIONS },
      { topic: topics.events, partitions: PARTITIONS },
      { topic: topics.outcomes, partitions: 1 },
      { topic: `${topics.commands}.dlq`, partitions: 1 },
    ]);
    const config = { brokers: env.brokers, redisUrl: env.redisUrl, topics, groupId: `${base}-reducer`, keyPrefix: `${base}-store`, transactionalIdPrefix: `${base}-tx` };
    const outcomes = await collect(env.kafka, topics.outcomes);
    const events = await collect(env.kafka, topics.events);

    const sent: CommandSpec[] = [];
    let producing = true;
    const producer = (async () => {
      for (let wave = 0; producing; wave += 1) {
        const commands = makeCommands(40, 15, `w${wave}`);
        await produce(env.kafka, topics.commands, commands);
        sent.push(...commands);
        await sleep(60);
      }
    })();

    let child = await spawnRunner(config);
    const kills: number[] = [];
    try {
      for (let round = 0; round < 3; round += 1) {
        // Kill somewhere in the middle of the flow: transactions open, commits done but Redis not yet written...
        await sleep(300 + Math.floor(Math.random() * 900));
        kills.push(outcomes.records.length);
        child.kill('SIGKILL');
        await exited(child);
        // ...and once, lose the whole store between runs.
        if (round === 1) await deleteStoreKeys(redis, config.keyPrefix);
        child = await spawnRunner(config);
      }
      producing = false;
      await producer;
      await outcomes.waitFor((r) => r.length >= sent.length, 60_000, `${sent.length} outcomes`);
      // Anything extra (a duplicate) would have arrived by now.
      await sleep(500);
      child.kill('SIGTERM');
      expect(await exited(child)).toBe(0);

      expect(kills.length).toBe(3);
      expect(sent.length).toBeGreaterThan(kills[0]);
      const expected = checkInvariants(sent, outcomes.records, events.records);
      expect(outcomes.records.length).toBe(sent.length);
      const states = await storedStates(redis, config.keyPrefix, PARTITIONS);
      for (const [key, n] of expected) expect(states.get(key)).toEqual({ count: n, version: n });
    } finally {
      producing = false;
      child.kill('SIGKILL');
      await producer.catch(() => undefined);
      await Promise.all([outcomes.stop(), events.stop()]);
    }
  }, 180_000);
});
