// The raw kafkajs peer: consume → produce every message from one topic to another, nothing else
// (no decode, no decide, no state). Run by bench/shipments.mjs as a child process, like the
// reducer, and watched from outside the same way. Two modes:
// - plain: a consumer group (read_committed, auto commit) and one ordinary producer (acks=-1).
// - transactional (and transactionalFastRetry, the same with a short kafkajs retry delay): what the reducer's loop does around its work (libs/streams): one transactional
//   producer per input partition (initialised on assignment, fencing any zombie), and per chunk of
//   at most `batchSize` records one transaction holding the produced records and the consumed
//   offsets (sendOffsets), committed before the next chunk. With `secondOutputTopic` (the bench's
//   reducerShaped run) each record is also written there, in the same sendBatch: the reducer's
//   Kafka work for an accepted command (an event and an outcome) with nothing decided.
//
//   node bench/lib/passthrough-worker.mjs '{"brokers":["127.0.0.1:9092"],"inputTopic":"in","outputTopic":"out","groupId":"g","mode":"plain"}'
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Kafka, logLevel } = require('kafkajs');

const options = {
  batchSize: 500,
  partitionsConcurrently: 12,
  ...JSON.parse(process.argv[2] ?? '{}'),
};
const { brokers, inputTopic, outputTopic, secondOutputTopic, groupId, mode, batchSize, partitionsConcurrently, retryInitialMs } = options;
// retryInitialMs: kafkajs' first retry delay (its default is 300 ms). It matters for transactions:
// a transaction begun right after the previous commit on the same producer is answered
// CONCURRENT_TRANSACTIONS until the broker has written the commit markers, and kafkajs waits this
// long (then longer) before trying again.
const kafka = new Kafka({
  brokers,
  clientId: `bench-passthrough-${mode}`,
  logLevel: logLevel.NOTHING,
  ...(retryInitialMs ? { retry: { initialRetryTime: retryInitialMs, retries: 12 } } : {}),
});
const consumer = kafka.consumer({ groupId, readUncommitted: false, sessionTimeout: 30_000, maxBytesPerPartition: 1_048_576 });

const chunks = (messages) => {
  const out = [];
  for (let i = 0; i < messages.length; i += batchSize) out.push(messages.slice(i, i + batchSize));
  return out;
};
const toOutput = (m) => ({ key: m.key, value: m.value, headers: m.headers });

async function runPlain() {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topics: [inputTopic], fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: partitionsConcurrently,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      for (const chunk of chunks(batch.messages)) {
        if (!isRunning() || isStale()) return;
        await producer.send({ topic: outputTopic, acks: -1, messages: chunk.map(toOutput) });
        resolveOffset(chunk[chunk.length - 1].offset);
        await heartbeat();
      }
    },
  });
  return async () => {
    await consumer.disconnect();
    await producer.disconnect();
  };
}

async function runTransactional() {
  const producers = new Map(); // partition → Promise<producer>, initialised (and fencing) on assignment
  const producerFor = (partition) => {
    let pending = producers.get(partition);
    if (!pending) {
      pending = (async () => {
        const producer = kafka.producer({
          transactionalId: `${groupId}-${inputTopic}-${partition}`,
          idempotent: true,
          maxInFlightRequests: 1,
          allowAutoTopicCreation: false,
        });
        await producer.connect();
        // kafkajs sends InitProducerId on the first transaction(): open and abort one now, as the
        // reducer does on assignment, so the first batch does not pay for it.
        const tx = await producer.transaction();
        await tx.abort();
        return producer;
      })();
      producers.set(partition, pending);
    }
    return pending;
  };
  await consumer.connect();
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    for (const partition of payload.memberAssignment[inputTopic] ?? []) void producerFor(partition).catch(() => undefined);
  });
  await consumer.subscribe({ topics: [inputTopic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    partitionsConsumedConcurrently: partitionsConcurrently,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      const producer = await producerFor(batch.partition);
      for (const chunk of chunks(batch.messages)) {
        if (!isRunning() || isStale()) return;
        const last = chunk[chunk.length - 1].offset;
        const tx = await producer.transaction();
        try {
          const outputs = chunk.map(toOutput);
          const topicMessages = [{ topic: outputTopic, messages: outputs }];
          if (secondOutputTopic) topicMessages.push({ topic: secondOutputTopic, messages: outputs });
          await tx.sendBatch({ topicMessages, acks: -1 });
          await tx.sendOffsets({
            consumerGroupId: groupId,
            topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: String(BigInt(last) + 1n) }] }],
          });
          await tx.commit();
        } catch (err) {
          await tx.abort().catch(() => undefined);
          throw err;
        }
        resolveOffset(last);
        await heartbeat();
      }
    },
  });
  return async () => {
    await consumer.disconnect();
    await Promise.all([...producers.values()].map((p) => p.then((producer) => producer.disconnect()).catch(() => undefined)));
  };
}

const stop = await (mode === 'plain' ? runPlain() : runTransactional());
let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  await stop().catch(() => undefined);
  process.exit(0);
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
process.on('disconnect', shutdown);
process.send?.({ ready: true });
