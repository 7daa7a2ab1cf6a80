// A STAND-IN for apps/shipment-reducer, only to test the harness's Waybill hook end to end while
// the real reducer is being built. It is NOT Waybill's reducer and its figures are not Waybill's:
// it keeps state in process memory (no Redis state store, no changelog restore, no dedupe), so it
// does strictly less work. The harness marks a run with it as `standIn: true` and judges no target.
//
// Same contract as the real app: env KAFKA_BROKERS, SCHEMA_REGISTRY_URL (REDIS_URL, PORT, API_KEYS
// accepted and ignored); consumes shipment.commands (read_committed), decides with
// @waybill/shipment-domain, and per chunk of MAX_BATCH_SIZE records commits events, outcomes and
// consumed offsets in one Kafka transaction (one transactional producer per input partition).
//
//   node bench/shipments.mjs --reducer bench/lib/stand-in-reducer.mjs
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Kafka, logLevel } = require('kafkajs');
const { createSerde, kafkajsRegistryClient, TOPICS } = require('@waybill/contracts');
const { decide, evolve, initialState, isRejection, raisesAlert, toEnvelopes } = require('@waybill/shipment-domain');
const { recordToCommand, envelopeToRecord, acceptedOutcome, rejectedOutcome } = require('@waybill/shipment-messages');

const brokers = (process.env.KAFKA_BROKERS ?? '').split(',').filter(Boolean);
const batchSize = Number(process.env.MAX_BATCH_SIZE ?? 500);
const partitionsConcurrently = Number(process.env.PARTITIONS_CONCURRENTLY ?? 4);
const groupId = 'bench-stand-in-reducer';
const kafka = new Kafka({ brokers, clientId: groupId, logLevel: logLevel.ERROR });
const serde = createSerde({ registry: kafkajsRegistryClient(process.env.SCHEMA_REGISTRY_URL) });
const states = new Map(); // shipmentId → ShipmentState (in memory: the stand-in's shortcut)

async function decideOne(message) {
  const decoded = await serde.decode(message.value, TOPICS.shipmentCommands);
  const command = recordToCommand({ type: decoded.recordName, value: decoded.value });
  const before = states.get(command.metadata.shipmentId) ?? initialState();
  const result = decide(command, before);
  const out = [];
  let outcome;
  if (isRejection(result)) outcome = rejectedOutcome(command, result, raisesAlert(result));
  else {
    const envelopes = toEnvelopes(command, result, before);
    let state = before;
    for (const event of result) state = evolve(state, event);
    states.set(command.metadata.shipmentId, { ...state, version: before.version + envelopes.length });
    for (const envelope of envelopes) {
      const record = envelopeToRecord(envelope);
      out.push({ topic: TOPICS.shipmentEvents, key: message.key, value: await serde.encode(TOPICS.shipmentEvents, record.type, record.value) });
    }
    outcome = acceptedOutcome(command, envelopes, before.version);
  }
  out.push({ topic: TOPICS.shipmentOutcomes, key: message.key, value: await serde.encode(TOPICS.shipmentOutcomes, 'CommandOutcome', outcome) });
  return out;
}

const producers = new Map();
function producerFor(partition) {
  let pending = producers.get(partition);
  if (!pending) {
    pending = (async () => {
      const producer = kafka.producer({ transactionalId: `${groupId}-${partition}`, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      await producer.connect();
      const tx = await producer.transaction();
      await tx.abort();
      return producer;
    })();
    producers.set(partition, pending);
  }
  return pending;
}

const consumer = kafka.consumer({ groupId, readUncommitted: false, sessionTimeout: 30_000 });
await serde.registerAll();
await consumer.connect();
consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
  for (const p of payload.memberAssignment[TOPICS.shipmentCommands] ?? []) void producerFor(p).catch(() => undefined);
});
await consumer.subscribe({ topics: [TOPICS.shipmentCommands], fromBeginning: true });
await consumer.run({
  autoCommit: false,
  eachBatchAutoResolve: false,
  partitionsConsumedConcurrently: partitionsConcurrently,
  eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
    const producer = await producerFor(batch.partition);
    for (let i = 0; i < batch.messages.length; i += batchSize) {
      if (!isRunning() || isStale()) return;
      const chunk = batch.messages.slice(i, i + batchSize);
      const outputs = [];
      for (const message of chunk) outputs.push(...(await decideOne(message)));
      const byTopic = new Map();
      for (const { topic, key, value } of outputs) (byTopic.get(topic) ?? byTopic.set(topic, []).get(topic)).push({ key, value });
      const last = chunk[chunk.length - 1].offset;
      const tx = await producer.transaction();
      try {
        await tx.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
        await tx.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: String(BigInt(last) + 1n) }] }] });
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

const shutdown = async () => {
  await consumer.disconnect().catch(() => undefined);
  await Promise.all([...producers.values()].map((p) => p.then((producer) => producer.disconnect()).catch(() => undefined)));
  process.exit(0);
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
