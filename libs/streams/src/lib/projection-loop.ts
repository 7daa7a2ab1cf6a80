import { EventEmitter } from 'node:events';
import type { Admin, Consumer, ConsumerConfig, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { z } from 'zod';
import { UndecodableMessageError } from '@waybill/contracts';
import { crashWithConsumer, RenewingProducer, retry, type AppMetrics, type Logger, type ReadinessCheck, type RedisClient } from '@waybill/platform';
import { deadLetterRecord } from './dead-letter';
import { errorMessage } from './errors';
import { groupConsumerConfig, sessionTimeoutSetting } from './group-consumer';
import { toInputRecord, type OutputRecord } from './processor';
import { writeProjection, type ProjectionPlan } from './projection-write';
import { watchReflectedOffsets, type WatchedPartition } from './reflected-offsets-watch';
import { GROUP_COMMIT_INTERVAL_MS, ThrottledOffsetCommits } from './throttled-offset-commits';
import { committedMessages } from './transaction-filter';

/** One partition's decoded records, in offset order, to be planned as one atomic write. */
export interface ProjectionChunk<R> {
  /** The logical topic (without TOPIC_PREFIX). */
  topic: string;
  partition: number;
  records: ReadonlyArray<{ offset: string; value: R }>;
}

/** A chunk's plan, what it counts, and what to do once it is in Redis. */
export interface PlannedChunk extends ProjectionPlan {
  /** Records per outcome (`applied`, `duplicate`, …), for `messages_processed_total`. */
  counts?: Readonly<Record<string, number>>;
  warnings?: readonly string[];
  /** Runs after the write landed, e.g. to wake readers waiting for what it wrote. */
  onWritten?: () => void;
}

/** What a read model supplies; the loop does the rest. */
export interface Projection<R> {
  /**
   * A partition's hash of field → next offset, written beside its read model in the same atomic
   * write: on a Redis Cluster, in the hash slot of every other key that partition's chunks write.
   */
  offsetsKey(topic: string, partition: number): string;
  /** A partition's field in that hash. */
  offsetField(topic: string, partition: number): string;
  /**
   * One record as the projection sees it; `undefined` for a record it does not project. Throws
   * `UndecodableMessageError` for one that can never decode (dead-lettered); any other error
   * (e.g. the registry down) fails the chunk, which is read again.
   */
  decode(topic: string, partition: number, message: KafkaMessage): Promise<R | undefined>;
  /**
   * Plans a chunk against what Redis holds now (the projection reads what it needs). Called again
   * when a value in `expect` changed before the write, e.g. another partition's chunk won the race.
   */
  plan(chunk: ProjectionChunk<R>): Promise<PlannedChunk>;
}

/** The environment of an app that runs a projection loop; `maxBatchSize` is the app's default and `maxBatchLimit` its ceiling. */
export function projectionConfigShape(defaults: { maxBatchSize: number; maxBatchLimit: number }) {
  return {
    /** Records per atomic Redis write. */
    MAX_BATCH_SIZE: z.coerce.number().int().min(1).max(defaults.maxBatchLimit).default(defaults.maxBatchSize),
    /** Partitions projected at once (each strictly in order). */
    PARTITIONS_CONCURRENTLY: z.coerce.number().int().min(1).max(64).default(4),
    SESSION_TIMEOUT_MS: sessionTimeoutSetting,
    /** How often the stored offsets are compared with what this instance wrote (a Redis that lost them is noticed without traffic). */
    OFFSETS_WATCH_INTERVAL_MS: z.coerce.number().int().min(100).max(60_000).default(2_000),
  };
}

export interface ProjectionSettings {
  MAX_BATCH_SIZE: number;
  PARTITIONS_CONCURRENTLY: number;
  SESSION_TIMEOUT_MS: number;
  OFFSETS_WATCH_INTERVAL_MS: number;
}

export interface ProjectionLoopOptions<R> {
  /** The consumer group, under TOPIC_PREFIX. */
  app: string;
  /** TOPIC_PREFIX (physical topic = prefix + logical topic), batch size, concurrency, session timeout and offsets-watch interval: the app's environment. */
  config: ProjectionSettings & { TOPIC_PREFIX: string };
  kafka: Kafka;
  redis: RedisClient;
  /** Logical topics. */
  topics: readonly string[];
  projection: Projection<R>;
  /** A consumer kafkajs gave up on: the app exits so its supervisor restarts it. */
  onCrash: (error: Error) => void;
  logger: Logger;
  metrics: AppMetrics;
  consumer?: Pick<ConsumerConfig, 'maxWaitTimeInMs' | 'maxBytesPerPartition' | 'maxBytes'>;
  /** How many times a chunk is planned again after losing a race before the batch is read again. */
  maxPlanAttempts?: number;
  /**
   * A partition's group offset (for lag and tools; Redis says what is reflected) is committed at
   * most this often, ms: chunks in between leave theirs to one commit of every pending partition
   * when the interval has passed. Default 1000 (GROUP_COMMIT_INTERVAL_MS); 0 commits every chunk.
   */
  groupCommitIntervalMs?: number;
}

/** Fetches in a row that end at the same undecided record before the loop says it is stuck. */
const UNDECIDED_WARN_AFTER = 100;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The loop every read model runs: consume read_committed → decode → plan → one atomic Redis write
 * holding the offset it reflects → commit the group offset (for lag and tools only). Redis, not the
 * group, says what is reflected: on assignment each partition is read from the offset stored
 * beside the read model (its log start when there is none), a write lands only if that offset is
 * still the one this instance read or wrote, and an offsets watch notices a Redis that lost it
 * while the partition is quiet. So a crash anywhere counts nothing twice, and a flushed Redis is
 * projected again from the topics.
 */
export class ProjectionLoop<R> {
  /** Emits `applied` after every write, so waiting readers look again at once. */
  readonly events = new EventEmitter();
  private consumer?: Consumer;
  private admin?: Admin;
  /** Sends records that can never decode to `<topic>.dlq`, acknowledged before their chunk is written. */
  private deadLetters?: RenewingProducer;
  private joined = false;
  /** Per field, the stored offset this instance last read or wrote (null = none stored); absent = read Redis again before writing. */
  private readonly expected = new Map<string, string | null>();
  /** The group offsets, for lag and tools: at most one commit per partition an interval. */
  private groupOffsets?: ThrottledOffsetCommits;
  /** Per field, the stored offset seen on assignment, until a batch sets `expected`: what the watch compares. */
  private readonly observed = new Map<string, bigint>();
  private assigned: WatchedPartition[] = [];
  private watch?: { stop(): void };
  /** Per field, where fetches keep stopping at an undecided transaction, and how many times in a row. */
  private readonly undecided = new Map<string, { at: string; times: number }>();
  private readonly groupId: string;
  private readonly topicPrefix: string;
  private readonly settings: ProjectionSettings;

  constructor(private readonly options: ProjectionLoopOptions<R>) {
    this.events.setMaxListeners(0);
    this.topicPrefix = options.config.TOPIC_PREFIX;
    this.groupId = this.topicPrefix + options.app;
    this.settings = options.config;
  }

  get ready(): boolean {
    return this.joined;
  }

  /** What the app's /ready reports for the loop: it joined its group, and its Redis answers. */
  get readiness(): ReadinessCheck[] {
    return [
      { name: 'consumer group', check: () => this.joined },
      { name: 'redis', check: async () => (await this.options.redis.ping()) === 'PONG' },
    ];
  }

  async start(): Promise<void> {
    const { kafka, topics, logger } = this.options;
    const { groupId, topicPrefix } = this;
    const sessionTimeoutMs = this.settings.SESSION_TIMEOUT_MS;
    this.admin = kafka.admin();
    await this.admin.connect();
    const deadLetters = new RenewingProducer(() => kafka.producer({ idempotent: true, maxInFlightRequests: 1 }));
    this.deadLetters = deadLetters;
    await retry('connecting the dead-letter producer', logger, () => deadLetters.connect());
    const consumer = kafka.consumer(
      groupConsumerConfig(groupId, sessionTimeoutMs, {
        // NOTE: a transaction's records count as undecided until its marker is in the same fetch. A
        // fetch cut at 1 MiB (kafkajs's default) right after a batch of nearly the broker's 1 MiB
        // message limit would never hold the marker; room for such a batch and its marker ends that.
        maxBytesPerPartition: 4 * 1_048_576,
        ...this.options.consumer,
      }),
    );
    this.consumer = consumer;
    const groupOffsets = new ThrottledOffsetCommits({
      commit: (offsets) => consumer.commitOffsets(offsets),
      intervalMs: this.options.groupCommitIntervalMs ?? GROUP_COMMIT_INTERVAL_MS,
      logger,
    });
    this.groupOffsets = groupOffsets;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.joined = true;
      // A new assignment: another owner may have moved any partition on meanwhile, so look at Redis again.
      this.expected.clear();
      this.observed.clear();
      groupOffsets.clear();
      this.assigned = Object.entries(payload.memberAssignment).flatMap(([topic, partitions]) =>
        partitions.map((partition) => this.watched(topic, partition)),
      );
      logger.info({ assigned: this.assigned.map((p) => p.field) }, 'partitions assigned');
      // NOTE: a partition with nothing new never reaches eachBatch, so one that Redis lost while this
      // instance was away would wait for its next record: start each where Redis says, now. Racing a
      // batch is harmless: that batch reads Redis itself before it writes.
      void Promise.all(this.assigned.map((p) => this.resume(p))).catch((error: unknown) =>
        logger.warn({ error: errorMessage(error) }, 'could not read the stored offsets on assignment; the first batch checks again'),
      );
    });
    crashWithConsumer(consumer, this.options.onCrash, logger);
    await consumer.connect();
    // NOTE: a new group starts at the beginning: every read model is built from the topics.
    await consumer.subscribe({ topics: topics.map((t) => topicPrefix + t), fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.settings.PARTITIONS_CONCURRENTLY,
      eachBatch: (payload) => this.eachBatch(payload),
    });
    this.watch = watchReflectedOffsets({
      redis: this.options.redis,
      partitions: () => this.assigned,
      lastKnown: (field) => {
        const expected = this.expected.get(field);
        if (expected !== undefined) return expected === null ? undefined : BigInt(expected);
        return this.observed.get(field);
      },
      onLost: (partition) => this.lost(partition),
      intervalMs: this.settings.OFFSETS_WATCH_INTERVAL_MS,
      logger,
    });
    const deadline = Date.now() + 30_000;
    while (!this.joined && Date.now() < deadline) await sleep(50);
  }

  /** The partitions this instance owns now, by logical topic: work that must happen once per partition (a retention window's pruning) runs on their owner. */
  ownedPartitions(): Array<{ topic: string; partition: number }> {
    return this.assigned.map(({ topic, partition }) => ({ topic: topic.slice(this.topicPrefix.length), partition }));
  }

  async stop(): Promise<void> {
    this.watch?.stop();
    await this.groupOffsets?.stop();
    await this.consumer?.disconnect();
    await this.deadLetters?.disconnect();
    await this.admin?.disconnect();
  }

  private consumerOrThrow(): Consumer {
    if (!this.consumer) throw new Error('projection loop not started');
    return this.consumer;
  }

  private async eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { logger, metrics } = this.options;
    const { groupId, topicPrefix } = this;
    const maxBatchSize = this.settings.MAX_BATCH_SIZE;
    const consumer = this.consumerOrThrow();
    const { topic, partition } = batch;
    const logical = topic.slice(topicPrefix.length);
    const watched = this.watched(topic, partition);
    const { field, offsetsKey } = watched;

    let expected = this.expected.get(field);
    if (expected === undefined) {
      // kafkajs's Batch keeps the offset it fetched from (batch.js); it is not in the typings.
      const fetched = BigInt(String((batch as unknown as { fetchedOffset: string | number }).fetchedOffset));
      const { stored, from } = await this.reflected(watched);
      this.expected.set(field, stored);
      if (from !== fetched) {
        logger.info({ topic, partition, fetched: fetched.toString(), from: from.toString() }, 'resuming from the offset Redis reflects');
        consumer.seek({ topic, partition, offset: from.toString() });
        return;
      }
      expected = stored;
    }

    const { messages: committed, complete, resumeAt } = committedMessages(batch);
    // Never project a record the read model already reflects, whatever the group's position says.
    const floor = expected === null ? -1n : BigInt(expected);
    const messages = committed.filter((m) => BigInt(m.offset) >= floor);

    if (messages.length === 0) {
      if (!complete) {
        // A transaction whose marker is not in this fetch yet: read from its first record again.
        const at = resumeAt ?? batch.firstOffset() ?? floor.toString();
        const times = (this.undecided.get(field)?.at === at ? (this.undecided.get(field)?.times ?? 0) : 0) + 1;
        this.undecided.set(field, { at, times });
        if (times === UNDECIDED_WARN_AFTER) {
          logger.warn({ topic, partition, offset: at, fetches: times }, 'a transaction stays undecided in every fetch (its marker never fits in one): the partition cannot go on; raise maxBytesPerPartition');
        }
        consumer.seek({ topic, partition, offset: at });
        await sleep(50);
        return;
      }
      this.undecided.delete(field);
      // Only markers, aborted or already reflected records: record that they are behind us, so a
      // reader waiting for an offset is not kept waiting by a trailing commit marker.
      const next = (BigInt(batch.lastOffset()) + 1n).toString();
      if (BigInt(next) > floor) {
        const outcome = await writeProjection(this.options.redis, { expect: [], writes: [] }, { offsetsKey, field, expected, next });
        if (outcome === 'lost') return this.lost(watched);
        this.expected.set(field, next);
        this.events.emit('applied');
      }
      resolveOffset(batch.lastOffset());
      await this.groupOffsets?.record(topic, partition, next);
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

      let planned: PlannedChunk;
      let undecodable: number;
      try {
        const decoded = await this.decodeChunk(topic, logical, partition, chunk);
        undecodable = decoded.undecodable;
        const written = await this.write({ topic: logical, partition, records: decoded.records }, { offsetsKey, field, expected, next });
        if (written === 'lost') return this.lost(watched);
        planned = written;
        expected = next;
      } catch (error) {
        logger.warn({ error: errorMessage(error), topic, partition, from: chunk[0].offset }, 'chunk not applied; reading the partition again from what Redis reflects');
        this.expected.delete(field);
        consumer.seek({ topic, partition, offset: chunk[0].offset });
        await sleep(500);
        return;
      }
      planned.onWritten?.();
      this.events.emit('applied');
      if (endsBatch) resolveOffset(batch.lastOffset());
      else if (isLastChunk) consumer.seek({ topic, partition, offset: next });
      else resolveOffset(last.offset);
      await this.groupOffsets?.record(topic, partition, next);

      for (const warning of planned.warnings ?? []) logger.warn({ topic, partition }, warning);
      metrics.batchDuration.observe({ topic: logical }, Number(process.hrtime.bigint() - began) / 1e9);
      for (const [outcome, count] of Object.entries(planned.counts ?? {})) {
        if (count) metrics.messagesProcessed.inc({ topic: logical, outcome }, count);
      }
      if (undecodable) metrics.messagesProcessed.inc({ topic: logical, outcome: 'undecodable' }, undecodable);
      const lag = BigInt(batch.highWatermark) - BigInt(next);
      metrics.consumerLag.set({ topic: logical, partition: String(partition), group: groupId }, Number(lag > 0n ? lag : 0n));
      await heartbeat();
    }
  }

  private async decodeChunk(topic: string, logical: string, partition: number, chunk: KafkaMessage[]) {
    const { projection, logger } = this.options;
    const { groupId } = this;
    const records: Array<{ offset: string; value: R }> = [];
    const deadLetters: OutputRecord[] = [];
    for (const message of chunk) {
      try {
        const value = await projection.decode(logical, partition, message);
        if (value !== undefined) records.push({ offset: message.offset, value });
      } catch (error) {
        // A record that can never decode goes to the dead-letter topic and the read model goes on;
        // anything else, e.g. the registry being down, fails the chunk and it is read again.
        if (!(error instanceof UndecodableMessageError)) throw error;
        const dead = deadLetterRecord(toInputRecord(topic, partition, message), error, groupId);
        deadLetters.push(dead);
        logger.error({ error: error.message, topic, partition, offset: message.offset, deadLetterTopic: dead.topic }, 'dead-lettering a record that cannot be decoded');
      }
    }
    // NOTE: at least once: a crash after this send and before the Redis write sends it again.
    if (deadLetters.length && this.deadLetters) {
      await this.deadLetters.send({ topic: deadLetters[0].topic, acks: -1, messages: deadLetters.map(({ key, value, headers }) => ({ key, value, headers })) });
    }
    return { records, undecodable: deadLetters.length };
  }

  /**
   * Plans and writes a chunk, planning again while another writer changes what it read. `expected`
   * is the batch's own view, never re-read from `this.expected`: a watch that forgot the partition
   * meanwhile must make this write fail, not turn it into "nothing stored yet".
   */
  private async write(chunk: ProjectionChunk<R>, { offsetsKey, field, expected, next }: { offsetsKey: string; field: string; expected: string | null; next: string }): Promise<PlannedChunk | 'lost'> {
    const { projection, redis } = this.options;
    const attempts = this.options.maxPlanAttempts ?? 5;
    for (let attempt = 1; ; attempt += 1) {
      const planned = await projection.plan(chunk);
      const outcome = await writeProjection(redis, planned, { offsetsKey, field, expected, next });
      if (outcome === 'lost') return 'lost';
      if (outcome === 'written') {
        this.expected.set(field, next);
        return planned;
      }
      if (attempt >= attempts) throw new Error(`the read model kept changing under ${attempts} plans of ${field}`);
    }
  }

  /** The stored offset moved under this instance (another owner, a flushed Redis, a rebuild): read again from Redis. */
  private async lost(partition: WatchedPartition): Promise<void> {
    this.options.logger.warn({ topic: partition.topic, partition: partition.partition }, 'the stored offset changed under this instance; reading again from what Redis reflects');
    await this.resume(partition);
  }

  /** Seeks a partition to the offset Redis reflects (its log start when none), to be checked again by its next batch. */
  private async resume(watched: WatchedPartition): Promise<void> {
    const { topic, partition, field } = watched;
    this.expected.delete(field);
    this.observed.delete(field);
    const { stored, from } = await this.reflected(watched);
    if (stored !== null) this.observed.set(field, from);
    this.consumerOrThrow().seek({ topic, partition, offset: from.toString() });
  }

  /** A partition (its physical topic) with where its reflected offset is stored. */
  private watched(topic: string, partition: number): WatchedPartition {
    const logical = topic.slice(this.topicPrefix.length);
    return { topic, partition, offsetsKey: this.options.projection.offsetsKey(logical, partition), field: this.options.projection.offsetField(logical, partition) };
  }

  /** The offset Redis stores for a partition (null: none), and where reading starts: there, or the log start. */
  private async reflected({ topic, partition, offsetsKey, field }: WatchedPartition): Promise<{ stored: string | null; from: bigint }> {
    const stored = await this.options.redis.hget(offsetsKey, field);
    if (stored !== null) return { stored, from: BigInt(stored) };
    if (!this.admin) throw new Error('projection loop not started');
    const offsets = await this.admin.fetchTopicOffsets(topic);
    return { stored, from: BigInt(offsets.find((o) => o.partition === partition)?.low ?? '0') };
  }
}
