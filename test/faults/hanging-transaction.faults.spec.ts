import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { testEnvironment } from '@waybill/devstack';
import { exited, spawnRunner, type ChildRunnerConfig } from '../../libs/streams/test-fixtures/child-runner';
import { checkInvariants, collect, deleteStoreKeys, makeCommands, produce, type CommandSpec, type Collector } from '../../libs/streams/test-fixtures/harness';
import { makeHangingTransaction, startBrokerForHangingTransactions, type HangingTransactionBroker } from '../support/hanging-transaction';

// The duplicate the chaos suite found (seeds 18889, 93236, 4242), made to happen instead of waited
// for: a reducer commits a decision, the broker is SIGKILLed while the coordinator's markers are
// held, and the restarted coordinator writes CompleteCommit without them (test/support/
// hanging-transaction.ts explains the broker's side). The decision's event, its outcome and its
// group offset are left hanging. Before the fix, the next owner restored its store to the last
// stable offset (without the decision), read the group offset from before it, decided the same
// command again, and its commit made both copies visible.

const env = testEnvironment();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Pipeline {
  kafka: Kafka;
  config: ChildRunnerConfig;
  transactionalId: string;
  sent: CommandSpec[];
  logFile: string;
}

async function pipeline(broker: HangingTransactionBroker, name: string): Promise<Pipeline> {
  const kafka = new Kafka({ brokers: broker.brokers, clientId: `hanging-${name}`, logLevel: logLevel.NOTHING, retry: { retries: 30, maxRetryTime: 2_000 } });
  const base = env.uniqueName(name);
  const topics = { commands: `${base}.cmds`, events: `${base}.events`, outcomes: `${base}.outcomes` };
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [topics.commands, topics.events, topics.outcomes, `${topics.commands}.dlq`].map((topic) => ({ topic, numPartitions: 1 })),
    waitForLeaders: true,
  });
  await admin.disconnect();
  const config = { brokers: broker.brokers, redisUrl: env.redisUrl, topics, groupId: `${base}-reducer`, keyPrefix: `${base}-store`, transactionalIdPrefix: `${base}-tx` };
  return {
    kafka,
    config,
    transactionalId: `${config.transactionalIdPrefix}-${topics.commands}-0`,
    sent: [],
    logFile: join(mkdtempSync(join(tmpdir(), 'waybill-hanging-log-')), 'runner.log'),
  };
}

async function send(p: Pipeline, commands: CommandSpec[]): Promise<void> {
  await produce(p.kafka, p.config.topics.commands, commands);
  p.sent.push(...commands);
}

/**
 * Reads outcomes and events from the beginning with fresh consumers (a consumer that lived through
 * the broker restart may have given up), once every command has its outcome, then checks exactly
 * once: one outcome per command, versions 1..n per key.
 */
async function checkExactlyOnce(p: Pipeline, timeoutMs: number): Promise<void> {
  const outcomes: Collector = await collect(p.kafka, p.config.topics.outcomes);
  const events: Collector = await collect(p.kafka, p.config.topics.events);
  try {
    const accepted = p.sent.filter((c) => c.op === 'inc').length;
    await outcomes.waitFor((r) => r.length >= p.sent.length, timeoutMs, `${p.sent.length} outcomes`);
    await events.waitFor((r) => r.length >= accepted, timeoutMs, `${accepted} events`);
    // A second copy of a decision would be committed with the owner's next marker: give it time.
    await sleep(2_000);
    checkInvariants(p.sent, outcomes.records, events.records);
    expect(outcomes.records).toHaveLength(p.sent.length);
    expect(events.records).toHaveLength(accepted);
  } finally {
    await Promise.all([outcomes.stop(), events.stop()]);
  }
}

async function outcomesSoFar(p: Pipeline, count: number): Promise<void> {
  const outcomes = await collect(p.kafka, p.config.topics.outcomes);
  try {
    await outcomes.waitFor((r) => r.length >= count, 60_000, `${count} outcomes`);
  } finally {
    await outcomes.stop();
  }
}

function logLines(p: Pipeline): Array<Record<string, unknown>> {
  return readFileSync(p.logFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('a hanging transaction on a reducer’s own partitions after a broker restart', () => {
  let broker: HangingTransactionBroker;
  let redis: Redis;

  beforeAll(async () => {
    broker = await startBrokerForHangingTransactions();
    redis = new Redis(env.redisUrl);
  }, 180_000);
  afterAll(async () => {
    await redis?.quit();
    await broker?.stop();
  }, 60_000);

  it.each([
    ['its owner SIGKILLed while the broker is down, the store as the owner left it', false],
    ['its owner SIGKILLed while the broker is down and Redis emptied', true],
  ])('is completed as the coordinator decided before the next owner decides: %s', async (_, emptyRedis) => {
    const p = await pipeline(broker, emptyRedis ? 'hang-empty' : 'hang-kept');
    let runner = await spawnRunner(p.config, { logFile: p.logFile, logLevel: 'info' });
    try {
      await send(p, makeCommands(30, 3, 'before'));
      await outcomesSoFar(p, 30);

      const [hung] = await makeHangingTransaction({
        broker,
        transactionalIds: [p.transactionalId],
        // The decision that will hang: one more command, decided and committed while the markers are held.
        commit: () => send(p, [{ key: 'k1', cmdId: 'the-hanging-one', op: 'inc', value: JSON.stringify({ cmdId: 'the-hanging-one', op: 'inc' }) }]),
        whileDown: async () => {
          runner.kill('SIGKILL');
          await exited(runner);
          if (emptyRedis) await deleteStoreKeys(redis, p.config.keyPrefix);
        },
      });
      // The precondition, checked: the coordinator says committed, the records are still open.
      expect(hung.after.state).toBe('CompleteCommit');
      expect(hung.partitions.map((h) => h.topic).sort()).toEqual(expect.arrayContaining([p.config.topics.events, p.config.topics.outcomes]));

      runner = await spawnRunner(p.config, { logFile: p.logFile, logLevel: 'info' });
      await send(p, makeCommands(20, 3, 'after'));
      await checkExactlyOnce(p, 90_000);
      const resolved = logLines(p).find((line) => String(line.msg).startsWith('hanging transaction found'));
      expect(resolved).toMatchObject({ transactionalId: p.transactionalId, coordinatorState: 'CompleteCommit', fate: 'commit' });
    } finally {
      runner.kill('SIGKILL');
    }
  }, 420_000);
});
