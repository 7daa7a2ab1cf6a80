/*
 * Measures how often makeHangingTransaction leaves a committed transaction hanging: each cycle a
 * fresh broker, a transactional producer (idempotent, maxInFlightRequests 1) writing partitions 0
 * and 1 of two topics plus sendOffsets for a group, markers held, SIGKILL, restart. One JSON line
 * per cycle, then a summary. Not a test: it takes about a minute a cycle.
 *
 *   npm run build
 *   npx esbuild test/support/hanging-transaction.experiment.ts --bundle --platform=node \
 *     --packages=external --external:@waybill/* --outfile=test-output/hanging-experiment.js
 *   node test-output/hanging-experiment.js --cycles 8 [--hold-during-restart] [--bare]
 *
 * --bare: 12 transaction log partitions and no filler, the setup as it was before this helper
 * (shows the race). The data folders stay under $TMPDIR/waybill-hanging-experiment-*, for
 * Kafka's own `kafka-dump-log.sh` (`kafka.tools.DumpLogSegments`) to read.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { runKafkaTool } from '@waybill/devstack';
import { awaitGroupCoordinator, HangingTransactionNotReproduced, makeHangingTransaction, startBrokerForHangingTransactions } from './hanging-transaction';

const args = process.argv.slice(2);
const cycles = Number(args[args.indexOf('--cycles') + 1] || 8);
const holdMarkersDuringRestart = args.includes('--hold-during-restart');
const bare = args.includes('--bare');
const root = mkdtempSync(join(tmpdir(), 'waybill-hanging-experiment-'));
const TRANSACTIONAL_ID = 'T';
const partitions = [
  { topic: 'a', partition: 0 },
  { topic: 'a', partition: 1 },
  { topic: 'b', partition: 0 },
  { topic: 'b', partition: 1 },
];

async function tool(bootstrap: string, ...toolArgs: string[]): Promise<string> {
  const { stdout } = await runKafkaTool('org.apache.kafka.tools.TransactionsCommand', ['--bootstrap-server', bootstrap, ...toolArgs]).catch((err) => ({ stdout: `failed: ${err.message}` }));
  return stdout.trim().split('\n').slice(1).map((line) => line.split('\t').map((c) => c.trim()).join(' ')).join(' / ');
}

/** Last stable offset and high watermark, through kafkajs' private cluster: the admin API only asks read_committed. */
async function offsets(kafka: Kafka): Promise<Record<string, { lso: number; hw: number }>> {
  const create = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  const result: Record<string, { lso: number; hw: number }> = {};
  for (const isolationLevel of [0, 1]) {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const cluster = (kafka as any)[create as symbol]({ allowAutoTopicCreation: false, isolationLevel });
    await cluster.connect();
    try {
      for (const topic of ['a', 'b']) {
        await cluster.addTargetTopic(topic);
        const [answer] = await cluster.fetchTopicsOffset([{ topic, fromBeginning: false, partitions: [{ partition: 0 }, { partition: 1 }] }]);
        for (const p of answer.partitions) {
          const entry = (result[`${topic}-${p.partition}`] ??= { lso: -1, hw: -1 });
          entry[isolationLevel ? 'lso' : 'hw'] = Number(p.offset);
        }
      }
    } finally {
      await cluster.disconnect();
    }
  }
  return result;
}

/** InitProducerId straight to the coordinator, once, so a CONCURRENT_TRANSACTIONS answer is seen rather than retried. */
async function initProducerIdOnce(kafka: Kafka): Promise<string> {
  const create = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const cluster = (kafka as any)[create as symbol]({ allowAutoTopicCreation: false, isolationLevel: 1 });
  await cluster.connect();
  try {
    const coordinator = await cluster.findGroupCoordinator({ groupId: TRANSACTIONAL_ID, coordinatorType: 1 });
    const answer = await coordinator.initProducerId({ transactionalId: TRANSACTIONAL_ID, transactionTimeout: 60_000 });
    return `NONE (producer id ${answer.producerId}, epoch ${answer.producerEpoch})`;
  } catch (err) {
    return (err as { type?: string }).type ?? (err as Error).message;
  } finally {
    await cluster.disconnect();
  }
}

async function cycle(n: number): Promise<Record<string, unknown>> {
  const broker = await startBrokerForHangingTransactions({ dataDir: join(root, `cycle-${n}`), transactionLogPartitions: bare ? 12 : 1 });
  // As the spec: the first transactional id on a fresh broker waits for __transaction_state, slowly on a loaded machine.
  const kafka = new Kafka({ brokers: broker.brokers, clientId: 'experiment', logLevel: logLevel.NOTHING, retry: { retries: 30, maxRetryTime: 2_000 } });
  const started = Date.now();
  const record: Record<string, unknown> = { cycle: n, bare, holdMarkersDuringRestart };
  try {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'a', numPartitions: 2 }, { topic: 'b', numPartitions: 2 }], waitForLeaders: true });
    await awaitGroupCoordinator(admin, 'g', 'a');
    await admin.disconnect();

    const producer = kafka.producer({ transactionalId: TRANSACTIONAL_ID, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const hung = await makeHangingTransaction({
        broker,
        transactionalIds: [TRANSACTIONAL_ID],
        holdMarkersDuringRestart,
        lengthenWindow: !bare,
        commit: async () => {
          const txn = await producer.transaction();
          for (const { topic, partition } of partitions) await txn.send({ topic, messages: [{ key: 'k', value: `${topic}-${partition}`, partition }] });
          await txn.sendOffsets({ consumerGroupId: 'g', topics: [{ topic: 'a', partitions: [{ partition: 0, offset: '1' }] }] });
          await txn.commit();
          record.beforeKill = { offsets: await offsets(kafka), initProducerId: await initProducerIdOnce(kafka) };
        },
      });
      record.hanging = true;
      record.hung = hung.map((h) => ({ ...h.before, state: `${h.before.state} -> ${h.after.state}`, partitions: h.partitions }));
    } catch (err) {
      if (!(err instanceof HangingTransactionNotReproduced)) throw err;
      record.hanging = false;
      record.why = err.message;
    } finally {
      await producer.disconnect().catch(() => undefined);
    }
    record.afterRestart = { offsets: await offsets(kafka), describe: await tool(broker.bootstrap, 'describe', '--transactional-id', TRANSACTIONAL_ID) };
    record.findHanging = await tool(broker.bootstrap, 'find-hanging', '--broker-id', '1');
    record.findHangingNoAgeLimit = await tool(broker.bootstrap, 'find-hanging', '--broker-id', '1', '--max-transaction-timeout', '0');
    record.newInitProducerId = await initProducerIdOnce(kafka);
    record.afterInit = { offsets: await offsets(kafka), describe: await tool(broker.bootstrap, 'describe', '--transactional-id', TRANSACTIONAL_ID) };
  } finally {
    record.seconds = Math.round((Date.now() - started) / 1000);
    await broker.stop();
  }
  return record;
}

async function main(): Promise<void> {
  let hung = 0;
  for (let n = 1; n <= cycles; n++) {
    const record = await cycle(n);
    if (record.hanging) hung++;
    process.stdout.write(`${JSON.stringify(record)}\n`);
  }
  process.stdout.write(`${JSON.stringify({ summary: { cycles, hung, bare, holdMarkersDuringRestart, dataDirs: root } })}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
