import { EventEmitter } from 'node:events';
import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type Redis from 'ioredis';
import { TOPICS, UndecodableMessageError, type Serde } from '@waybill/contracts';
import { applyBatch, ledgerKeys, offsetField, ReflectedOffsetLostError, toLedgerInput, type ContinuityGuard, type LedgerInput, type LedgerTopic, type OutcomeDoc } from '@waybill/ledger-projections';
import { crashWithConsumer, type AppMetrics, type Logger } from '@waybill/platform';
import { committedMessages, deadLetterRecord, toInputRecord, watchReflectedOffsets, type OutputRecord, type WatchedPartition } from '@waybill/streams';
import type { ProjectedVersions } from './version-waiter';

export interface ProjectorOptions {
  kafka: Kafka;
  redis: Redis;
  serde: Serde;
  groupId: string;
  /** TOPIC_PREFIX: physical topic = prefix + logical topic. */
  topicPrefix: string;
  topics: readonly LedgerTopic[];
  keyPrefix: string;
  snapshotEvery: number;
  maxBatchSize: number;
  partitionsConcurrently: number;
  sessionTimeoutMs: number;
  /** How often the stored offsets are compared with what this instance wrote (see watchReflectedOffsets). */
  offsetsWatchIntervalMs: number;
  /** A consumer kafkajs gave up on: the app exits so its supervisor restarts it. */
  onCrash: (err: Error) => void;
  logger: Logger;
  metrics: AppMetrics;
  /** Sends records that can never decode to `<topic>.dlq`, acknowledged before the batch goes on. */
  deadLetter: (records: OutputRecord[]) => Promise<void>;
  /** Called after a batch that stored new alerts has landed in Redis. */
  onAlerts: (alerts: OutcomeDoc[]) => void;
}

/**
 * The ledger's consumer loop: reads the three topics read_committed in one consumer group, decodes
 * each partition's records in order, applies them with the offsets they reach in one atomic Redis
 * write (`applyBatch`), then commits the group offsets. Redis, not the group, says what is
 * reflected: on assignment a partition restarts from the offset Redis holds, and a Redis that
 * loses the read model while the ledger runs is noticed by the write guard or the offsets watch
 * (a flushed or restored Redis is rebuilt from the topics); replays are harmless, the projection
 * being idempotent.
 */
export class Projector {
  /**
   * Emits `shipments` (a `ProjectedVersions`) as soon as a write of shipment events is in Redis,
   * and `applied` after every write, so waiting readers look again at once.
   */
  readonly events = new EventEmitter();
  private consumer?: Consumer;
  private admin?: Admin;
  private joined = false;
  private checked = new Set<string>();
  /** First offset of a partition, learned when Redis held nothing for it. */
  private lowWatermarks = new Map<string, bigint>();
  /** Per offsets field, the next offset this instance last wrote or found in Redis. */
  private readonly reflected = new Map<string, bigint>();
  private assigned: WatchedPartition[] = [];
  private watch?: { stop(): void };

  constructor(private readonly options: ProjectorOptions) {
    this.events.setMaxListeners(0);
  }

  get ready(): boolean {
    return this.joined;
  }

  async start(): Promise<void> {
    const { kafka, groupId, topicPrefix, topics, partitionsConcurrently } = this.options;
    this.admin = kafka.admin();
    await this.admin.connect();
    const consumer = kafka.consumer({ groupId, readUncommitted: false, maxBytesPerPartition: 1_048_576, sessionTimeout: this.options.sessionTimeoutMs, heartbeatInterval: Math.min(3_000, Math.floor(this.options.sessionTimeoutMs / 3)) });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.joined = true;
      // A new assignment: check every partition against Redis again before trusting the group.
      this.checked = new Set();
      this.reflected.clear();
      this.assigned = Object.entries(payload.memberAssignment).flatMap(([topic, partitions]) =>
        partitions.map((partition) => ({ topic, partition, field: offsetField(topic.slice(topicPrefix.length), partition) })),
      );
      // NOTE: a partition with nothing new never reaches eachBatch, so one that Redis lost while this
      // ledger was away would wait for its next record: start each where Redis says, now.
      void Promise.all(this.assigned.map((p) => this.resume(p))).catch((err: unknown) =>
        this.options.logger.warn({ err }, 'could not read the stored offsets on assignment; the first batch checks again'),
      );
    });
    crashWithConsumer(consumer, this.options.onCrash, this.options.logger);
    await consumer.connect();
    // NOTE: a new group must start at the beginning: every read model is rebuilt from the topics.
    await consumer.subscribe({ topics: topics.map((t) => topicPrefix + t), fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: partitionsConcurrently,
      eachBatch: (payload) => this.eachBatch(payload),
    });
    this.watch = watchReflectedOffsets({
      redis: this.options.redis,
      offsetsKey: ledgerKeys(this.options.keyPrefix).offsets,
      partitions: () => this.assigned,
      lastKnown: (field) => this.reflected.get(field),
      onLost: (partition) => this.resume(partition),
      intervalMs: this.options.offsetsWatchIntervalMs,
      logger: this.options.logger,
    });
    const deadline = Date.now() + 30_000;
    while (!this.joined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }

  async stop(): Promise<void> {
    this.watch?.stop();
    await this.consumer?.disconnect();
    await this.admin?.disconnect();
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const { redis, keyPrefix, topicPrefix, logger } = this.options;
    const consumer = this.consumer!;
    const { topic, partition } = batch;
    const logical = topic.slice(topicPrefix.length) as LedgerTopic;
    const field = offsetField(logical, partition);

    // kafkajs's Batch keeps the offset it fetched from (batch.js); it is not in the typings.
    const fetched = BigInt(String((batch as unknown as { fetchedOffset: string | number }).fetchedOffset));
    if (!this.checked.has(field)) {
      this.checked.add(field);
      const stored = await redis.hget(ledgerKeys(keyPrefix).offsets, field);
      const from = stored !== null ? BigInt(stored) : await this.earliest(topic, partition);
      if (stored === null) this.lowWatermarks.set(field, from);
      else this.reflected.set(field, from);
      if (from < fetched) {
        logger.warn({ topic, partition, fetched: fetched.toString(), from: from.toString() }, 'Redis reflects less than the group committed; projecting again from there');
        consumer.seek({ topic, partition, offset: from.toString() });
        return;
      }
    }
    const guard = { field, reflectedAtLeast: fetched.toString(), allowMissing: fetched <= (this.lowWatermarks.get(field) ?? 0n) };
    try {
      await this.project(payload, logical, guard);
    } catch (err) {
      if (!(err instanceof ReflectedOffsetLostError)) throw err;
      // Redis restarted empty (or was rolled back) while this partition was assigned: look again
      // at what it holds, as on a new assignment, and project from there.
      logger.warn({ topic, partition, fetched: fetched.toString() }, 'the read model lost this partition under us; checking Redis again');
      this.checked.delete(field);
      this.reflected.delete(field);
      consumer.seek({ topic, partition, offset: fetched.toString() });
    }
  }

  /** Seeks a partition to the offset Redis reflects (its log start when Redis holds nothing), to be checked again by its next batch. */
  private async resume({ topic, partition, field }: WatchedPartition): Promise<void> {
    this.checked.delete(field);
    this.reflected.delete(field);
    const stored = await this.options.redis.hget(ledgerKeys(this.options.keyPrefix).offsets, field);
    const from = stored !== null ? BigInt(stored) : await this.earliest(topic, partition);
    if (stored !== null) this.reflected.set(field, from);
    this.consumer!.seek({ topic, partition, offset: from.toString() });
  }

  private async project(payload: EachBatchPayload, logical: LedgerTopic, guard: ContinuityGuard): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    const { redis, keyPrefix, logger, metrics, maxBatchSize, snapshotEvery, serde } = this.options;
    const consumer = this.consumer!;
    const { topic, partition } = batch;
    const { messages, complete } = committedMessages(batch);
    if (messages.length === 0) {
      // Only markers or aborted records: record that they are behind us, so waitFor on them ends.
      const next = (BigInt(batch.lastOffset()) + 1n).toString();
      await applyBatch(redis, keyPrefix, [], { guard, marks: [{ topic: logical, partition, next }] });
      this.reflected.set(guard.field, BigInt(next));
      await consumer.commitOffsets([{ topic, partition, offset: next }]);
      resolveOffset(batch.lastOffset());
      this.events.emit('applied');
      return;
    }

    for (let start = 0; start < messages.length; start += maxBatchSize) {
      if (!isRunning() || isStale()) return;
      const began = process.hrtime.bigint();
      const chunk = messages.slice(start, start + maxBatchSize);
      const last = chunk[chunk.length - 1];
      const isLastChunk = start + maxBatchSize >= messages.length;
      // NOTE: the last chunk of a whole batch covers trailing transaction markers too (eachBatch never
      // sees them); a batch the transaction filter cut short ends at its last decided record.
      const endsBatch = isLastChunk && complete;
      const next = (BigInt(endsBatch ? batch.lastOffset() : last.offset) + 1n).toString();

      const inputs: LedgerInput[] = [];
      const deadLetters: OutputRecord[] = [];
      for (const message of chunk) {
        try {
          const input = toLedgerInput(logical, partition, message.offset, await serde.decode(message.value, logical));
          if (input) inputs.push(input);
        } catch (err) {
          // A record that can never decode goes to the dead-letter topic and the ledger goes on;
          // anything else, e.g. the registry being down, fails the batch and kafkajs retries.
          if (!(err instanceof UndecodableMessageError)) throw err;
          const dead = deadLetterRecord(toInputRecord(topic, partition, message), err, this.options.groupId);
          deadLetters.push(dead);
          logger.error({ err, topic, partition, offset: message.offset, deadLetterTopic: dead.topic }, 'dead-lettering a record that cannot be decoded');
        }
      }
      const undecodable = deadLetters.length;
      // NOTE: at least once: a crash after this send and before the Redis write sends it again.
      if (undecodable) await this.options.deadLetter(deadLetters);
      const result = await applyBatch(redis, keyPrefix, inputs, { snapshotEvery, guard, marks: [{ topic: logical, partition, next }] });
      this.reflected.set(guard.field, BigInt(next));
      // The shipments are in Redis now: a reader waiting for one need not wait for the group commit.
      if (logical === TOPICS.shipmentEvents) this.events.emit('shipments', projectedVersions(inputs));
      await consumer.commitOffsets([{ topic, partition, offset: next }]);
      if (endsBatch) resolveOffset(batch.lastOffset());
      else if (isLastChunk) consumer.seek({ topic, partition, offset: next });
      else resolveOffset(last.offset);

      for (const warning of result.warnings) logger.warn({ topic, partition }, warning);
      metrics.batchDuration.observe({ topic: logical }, Number(process.hrtime.bigint() - began) / 1e9);
      if (result.applied) metrics.messagesProcessed.inc({ topic: logical, outcome: 'applied' }, result.applied);
      if (result.duplicates) metrics.messagesProcessed.inc({ topic: logical, outcome: 'duplicate' }, result.duplicates);
      if (undecodable) metrics.messagesProcessed.inc({ topic: logical, outcome: 'undecodable' }, undecodable);
      const lag = BigInt(batch.highWatermark) - BigInt(next);
      metrics.consumerLag.set({ topic: logical, partition: String(partition), group: this.options.groupId }, Number(lag > 0n ? lag : 0n));
      this.events.emit('applied');
      if (result.alerts.length) this.options.onAlerts(result.alerts);
      await heartbeat();
    }
  }

  private async earliest(topic: string, partition: number): Promise<bigint> {
    const offsets = await this.admin!.fetchTopicOffsets(topic);
    const low = offsets.find((o) => o.partition === partition)?.low ?? '0';
    return BigInt(low);
  }
}

/** Each shipment the records are events of, with the highest version among them. */
function projectedVersions(inputs: readonly LedgerInput[]): ProjectedVersions {
  const versions = new Map<string, number>();
  for (const { record } of inputs) {
    if (record.type === 'CommandOutcome' || record.type === 'TransactionRecorded') continue;
    const { aggregateId, version } = record.value;
    if (version > (versions.get(aggregateId) ?? 0)) versions.set(aggregateId, version);
  }
  return versions;
}
