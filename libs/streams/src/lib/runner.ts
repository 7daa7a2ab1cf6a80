import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { AppMetrics, Logger, RedisClient } from '@waybill/platform';
import { deadLetterTopic } from '@waybill/contracts';
import { decodeErrorPolicy, type BadRecordHandler, type ErrorClass } from './dead-letter';
import { BadRecordError, ProcessingFailedError, StreamsConfigError, TaskCorruptedError, TaskMigratedError, errorMessage, isRebalanceError } from './errors';
import { DEFAULT_SESSION_TIMEOUT_MS, groupConsumerConfig } from './group-consumer';
import { openTransactions } from './hanging-transactions';
import { KafkaWire } from './kafka-wire';
import { PartitionTask } from './partition-task';
import { committedMessages } from './transaction-filter';
import type { Processor, StateStoreDefinition } from './processor';
import { RedisStateStore } from './state-store';

/** Options of {@link runProcessor}. */
export interface RunProcessorOptions<S> {
  kafka: Kafka;
  /** Consumer group; also the group whose offsets each transaction commits. */
  groupId: string;
  inputTopic: string;
  /**
   * Every topic the processor may produce to (the changelog and the input's dead-letter topic are
   * added): on assignment, records a transaction of this partition's transactional id left
   * hanging on any of them are closed before the first decision.
   */
  outputTopics: readonly string[];
  processor: Processor<S>;
  /** The state store; its changelog topic must have the input topic's partition count and key. */
  store?: StateStoreDefinition<S>;
  /** Required with `store`. */
  redis?: RedisClient;
  /** Redis key prefix: keys are `${keyPrefix}:${store.name}:${partition}:{state|meta}`. Default `waybill`. */
  keyPrefix?: string;
  /** Transactional ids are `${transactionalIdPrefix}-${inputTopic}-${partition}`. */
  transactionalIdPrefix: string;
  /** Policy for records `process` throws on. Default: {@link decodeErrorPolicy}(decodeErrorClass). */
  onBadRecord?: BadRecordHandler;
  /** With the default policy, errors of this class are dead-lettered and everything else fails. */
  decodeErrorClass?: ErrorClass;
  logger: Logger;
  metrics?: AppMetrics;
  /** Records per transaction (a fetched batch is split into chunks of this size). Default 500. */
  maxBatchSize?: number;
  sessionTimeout?: number;
  /**
   * Partitions processed at once, each strictly in order. Default 12: a transaction is a chain of
   * round trips, so overlapping partitions is what makes throughput (one broker, 12 partitions:
   * ~13k commands/s at 12 against ~4.5k/s at 3).
   */
  partitionsConsumedConcurrently?: number;
  /**
   * Consumers of the group in this process, the partitions shared among them by the group. kafkajs
   * fetches from a broker again only after every batch of the last fetch is done, so with one
   * consumer a record arriving during a fetch round waits for the slowest partition's
   * transactions; with several, only for those of the partitions its consumer shares. Default 1.
   */
  members?: number;
  /** Where a group without committed offsets starts. Default true: no command is ever skipped. */
  fromBeginning?: boolean;
  /** Longest a fetch waits for data; also bounds how long stop() waits for an idle fetch. Default 500. */
  maxWaitTimeInMs?: number;
  /** Consecutive infrastructure failures of one partition before the runner gives up. Default 10. */
  maxRetries?: number;
  restoreStallTimeoutMs?: number;
  /**
   * A chunk that writes nothing (no output, no dead letter) commits its offset at most this often,
   * ms; the others ride on the next transaction. Default 1000 (QUIET_COMMIT_INTERVAL_MS); 0
   * commits every chunk.
   */
  quietCommitIntervalMs?: number;
  /**
   * How often the output partitions are checked for a last stable offset pinned by one of this
   * runner's own live producers (a broker restart lost a commit's markers). Default 5000.
   */
  hangCheckIntervalMs?: number;
  /** Called once when the runner crashes (after logging); apps usually exit here. */
  onCrash?: (error: Error) => void;
}

/** A running consume → decide → produce loop. */
export interface ProcessorRunner {
  /** Resolves when the consumer first joined its group; rejects if the runner crashes before. */
  ready: Promise<void>;
  /** Resolves after stop(); rejects with the error the runner crashed on. */
  stopped: Promise<void>;
  /** Finishes the transaction in hand, then disconnects the consumer and every producer. */
  stop(): Promise<void>;
}

/**
 * Runs `processor` over `inputTopic` exactly once: per fetched batch (in chunks of `maxBatchSize`)
 * one Kafka transaction carries the outputs and the consumed offsets, and after the commit the
 * changed states and the changelog offset go to Redis in one atomic write. On assignment a
 * partition's transactional producer is initialised (fencing any zombie) and its store is restored
 * from the changelog before the first decision.
 *
 * @example
 * const runner = await runProcessor({
 *   kafka, groupId: 'shipment-reducer', inputTopic: 'shipment.commands', processor, store, redis,
 *   transactionalIdPrefix: 'shipment-reducer', decodeErrorClass: DecodeError, logger, metrics,
 * });
 * await runner.ready;
 * installShutdown([{ name: 'reducer', stop: runner.stop }]);
 */
export async function runProcessor<S>(options: RunProcessorOptions<S>): Promise<ProcessorRunner> {
  const { kafka, groupId, inputTopic, processor, metrics } = options;
  const maxBatchSize = options.maxBatchSize ?? 500;
  const maxRetries = options.maxRetries ?? 10;
  if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1) throw new StreamsConfigError(`maxBatchSize must be a positive integer, got ${maxBatchSize}`);
  if (options.store && !options.redis) throw new StreamsConfigError('a state store needs a Redis client', { store: options.store.name });
  if (options.store?.changelogTopic === inputTopic) throw new StreamsConfigError('the changelog topic cannot be the input topic', { topic: inputTopic });
  const store = options.store && options.redis ? new RedisStateStore(options.redis, options.keyPrefix ?? 'waybill', options.store) : undefined;
  const onBadRecord = options.onBadRecord ?? decodeErrorPolicy(options.decodeErrorClass);
  const logger = options.logger.child({ component: 'streams', groupId, inputTopic });
  const sessionTimeout = options.sessionTimeout ?? DEFAULT_SESSION_TIMEOUT_MS;

  const admin: Admin = kafka.admin();
  const wire = new KafkaWire(kafka);
  let outputPartitions: Promise<Array<{ topic: string; partitions: number[] }>> | undefined;
  const loadOutputPartitions = async () => {
    const topics = [...new Set([...options.outputTopics, ...(options.store ? [options.store.changelogTopic] : []), deadLetterTopic(inputTopic)])];
    const { topics: described } = await admin.fetchTopicMetadata({ topics });
    return described.map((t) => ({ topic: t.name, partitions: t.partitions.map((p) => p.partitionId) }));
  };
  // Topics keep their partitions for the runner's life; a failed lookup is asked again next time.
  const partitionsWritten = () => (outputPartitions ??= loadOutputPartitions().catch((error: unknown) => {
    outputPartitions = undefined;
    throw error;
  }));
  const memberCount = options.members ?? 1;
  if (!Number.isInteger(memberCount) || memberCount < 1) throw new StreamsConfigError(`members must be a positive integer, got ${memberCount}`);
  interface Member {
    consumer: Consumer;
    /** The tasks of the partitions this consumer was assigned. */
    tasks: Map<number, PartitionTask<S>>;
  }
  const members: Member[] = Array.from({ length: memberCount }, () => ({
    consumer: kafka.consumer(groupConsumerConfig(groupId, sessionTimeout, options.maxWaitTimeInMs === undefined ? {} : { maxWaitTimeInMs: options.maxWaitTimeInMs })),
    tasks: new Map<number, PartitionTask<S>>(),
  }));
  const allTasks = () => members.flatMap((m) => [...m.tasks.values()]);
  const failures = new Map<number, number>();

  let crashError: Error | undefined;
  let stopping: Promise<void> | undefined;
  let resolveReady!: () => void;
  let rejectReady!: (error: Error) => void;
  const ready = new Promise<void>((resolve, reject) => ((resolveReady = resolve), (rejectReady = reject)));
  let resolveStopped!: () => void;
  let rejectStopped!: (error: Error) => void;
  const stopped = new Promise<void>((resolve, reject) => ((resolveStopped = resolve), (rejectStopped = reject)));
  // Callers may observe only one of the two; a crash is reported through the logger and onCrash.
  ready.catch(() => undefined);
  stopped.catch(() => undefined);

  const dropTask = (tasks: Map<number, PartitionTask<S>>, partition: number, task: PartitionTask<S>) => {
    if (tasks.get(partition) === task) tasks.delete(partition);
    void task.dispose();
  };

  const dropAllTasks = async (of: readonly Member[] = members) => {
    const all = of.flatMap((m) => [...m.tasks.values()]);
    for (const m of of) m.tasks.clear();
    await Promise.all(all.map((task) => task.dispose()));
  };

  // A partition whose LSO stays below its high watermark for a whole interval, held open by a
  // producer of one of our live tasks: that task's commit lost its markers (see
  // commitHangingOfLiveProducer). Tasks that are assigned again resolve their hangs in init.
  const stableSeen = new Map<string, bigint>();
  const checkForHangs = async () => {
    const owners = new Map<string, PartitionTask<S>>();
    for (const task of allTasks()) if (task.ready && task.producerId) owners.set(task.producerId, task);
    if (!owners.size) return;
    const offsets = await wire.offsets(await partitionsWritten());
    const held = new Map<PartitionTask<S>, Map<string, number[]>>();
    for (const [key, { topic, partition, stable, high }] of offsets) {
      const before = stableSeen.get(key);
      if (stable < high) stableSeen.set(key, stable);
      else stableSeen.delete(key);
      if (stable >= high || before !== stable) continue;
      for (const producerId of openTransactions(await wire.readUncommitted(topic, partition, stable, high)).keys()) {
        const task = owners.get(producerId);
        if (!task) continue;
        const topics = held.get(task) ?? new Map<string, number[]>();
        topics.set(topic, [...(topics.get(topic) ?? []), partition]);
        held.set(task, topics);
      }
    }
    for (const [task, topics] of held) await task.closeHanging([...topics].map(([topic, partitions]) => ({ topic, partitions })));
  };
  let hangCheck: Promise<void> | undefined;
  // A broker outage fails every check until it ends: say so once when it starts and once after.
  let hangCheckFailing = false;
  const hangTimer = setInterval(() => {
    if (hangCheck || crashError || stopping) return;
    hangCheck = checkForHangs()
      .then(() => {
        if (hangCheckFailing) logger.info('hanging-transaction check works again');
        hangCheckFailing = false;
      })
      .catch((error: unknown) => {
        if (!hangCheckFailing) logger.warn({ error: errorMessage(error) }, 'hanging-transaction check failed; trying again every interval until it works');
        hangCheckFailing = true;
      })
      .finally(() => (hangCheck = undefined));
  }, options.hangCheckIntervalMs ?? 5_000);
  hangTimer.unref();

  const shutdown = async () => {
    clearInterval(hangTimer);
    await hangCheck;
    await Promise.all(members.map(({ consumer }) => consumer.stop().catch(() => undefined)));
    await Promise.all(members.map(({ consumer }) => consumer.disconnect().catch(() => undefined)));
    await dropAllTasks();
    await admin.disconnect().catch(() => undefined);
    await wire.disconnect();
  };

  const crash = (error: Error) => {
    if (crashError || stopping) return;
    crashError = error;
    logger.error({ err: error, code: (error as { code?: unknown }).code }, 'stream processor crashed');
    rejectReady(error);
    rejectStopped(error);
    options.onCrash?.(error);
    // NOTE: not awaited here: crash() runs inside eachBatch, and kafkajs's consumer.stop() waits
    // for eachBatch to return, so awaiting it would deadlock.
    setImmediate(() => void shutdown());
  };

  const fetchCommitted = async (partition: number): Promise<bigint | undefined> => {
    const [topicOffsets] = await admin.fetchOffsets({ groupId, topics: [inputTopic] });
    const entry = topicOffsets?.partitions.find((p) => p.partition === partition);
    if (!entry || !/^\d+$/.test(entry.offset)) return undefined;
    return BigInt(entry.offset);
  };

  const backOff = async (consumer: Consumer, partition: number, error: unknown, seekTo: string): Promise<void> => {
    const count = (failures.get(partition) ?? 0) + 1;
    failures.set(partition, count);
    if (count > maxRetries) {
      const fatal = new ProcessingFailedError(`partition ${partition} failed ${count} times in a row: ${errorMessage(error)}`, { topic: inputTopic, partition }, error);
      crash(fatal);
      throw fatal;
    }
    logger.warn({ partition, attempt: count, error: errorMessage(error), seekTo }, 'batch failed and was aborted; retrying from the committed position');
    // NOTE: the aborted records were fetched, so kafkajs's position is past them; seeking back to the
    // chunk's first offset makes the next fetch deliver them again. Nothing is skipped.
    consumer.seek({ topic: inputTopic, partition, offset: seekTo });
    await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 100 * 2 ** count)));
  };

  const eachBatchOf = ({ consumer, tasks }: Member) => async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> => {
    if (crashError) throw crashError;
    const { partition } = batch;
    let task = tasks.get(partition);
    if (!task) {
      task = new PartitionTask({
        kafka,
        admin,
        groupId,
        inputTopic,
        partition,
        transactionalId: `${options.transactionalIdPrefix}-${inputTopic}-${partition}`,
        processor,
        store,
        onBadRecord,
        logger,
        restoreStallTimeoutMs: options.restoreStallTimeoutMs,
        wire,
        outputPartitions: partitionsWritten,
        quietCommitIntervalMs: options.quietCommitIntervalMs,
      });
      tasks.set(partition, task);
    }

    if (!task.ready) {
      // kafkajs's Batch keeps the offset it fetched from (batch.js); it is not in the typings.
      const fetchedOffset = String((batch as unknown as { fetchedOffset: string | number }).fetchedOffset);
      try {
        await task.init(heartbeat);
        // NOTE: our consumer read its committed offsets when it joined, before init() fenced the
        // previous owner; a zombie may have committed in between. Now that nobody else can commit
        // for this partition, the group's committed offset is final: start there or not at all.
        const committed = await fetchCommitted(partition);
        if (committed !== undefined && committed !== BigInt(fetchedOffset)) {
          logger.info({ partition, fetchedOffset, committed: committed.toString() }, 'position differs from the committed offset; seeking');
          consumer.seek({ topic: inputTopic, partition, offset: committed.toString() });
          return;
        }
      } catch (error) {
        dropTask(tasks, partition, task);
        if (isRebalanceError(error)) throw error;
        return backOff(consumer, partition, error, fetchedOffset);
      }
    }

    const { messages, complete, resumeAt } = committedMessages(batch);
    if (messages.length === 0) {
      if (complete) {
        // Only aborted records and markers: move the position on; the next commit covers them.
        resolveOffset(batch.lastOffset());
      } else {
        // Nothing decidable yet (the markers are past the last stable offset): fetch again shortly.
        consumer.seek({ topic: inputTopic, partition, offset: resumeAt ?? String(batch.firstOffset()) });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return;
    }
    for (let start = 0; start < messages.length; start += maxBatchSize) {
      if (!isRunning() || isStale() || task.isDisposed || crashError) return;
      const chunk = messages.slice(start, start + maxBatchSize);
      const last = chunk[chunk.length - 1];
      const isLastChunk = start + maxBatchSize >= messages.length;
      // NOTE: for the batch's last chunk we commit past batch.lastOffset(), which includes trailing
      // transaction markers and aborted records that eachBatch never sees; committing only
      // last message + 1 would make the group restart on a bare marker. A batch cut short by the
      // transaction filter ends at its last decided record instead.
      const endsBatch = isLastChunk && complete;
      const commitOffset = BigInt(endsBatch ? batch.lastOffset() : last.offset) + 1n;
      const began = process.hrtime.bigint();
      // How long the chunk's oldest record waited between its producer and this decision: fetch
      // wait, batch formation and the partitions ahead of it (its CreateTime, same machine's clock).
      metrics?.chunkPhaseDuration.observe({ topic: inputTopic, phase: 'wait' }, Math.max(0, Date.now() - Number(chunk[0].timestamp)) / 1000);
      let result;
      try {
        result = await task.runChunk(chunk, commitOffset);
      } catch (error) {
        dropTask(tasks, partition, task);
        if (error instanceof BadRecordError) {
          crash(error);
          throw error;
        }
        if (error instanceof TaskMigratedError || error instanceof TaskCorruptedError) {
          logger.warn({ partition, code: error.code, error: error.message }, 'batch dropped, Redis untouched; the partition starts again with init');
          consumer.seek({ topic: inputTopic, partition, offset: chunk[0].offset });
          // A heartbeat tells a zombie that the group moved on (it throws, and kafkajs rejoins).
          await heartbeat();
          return;
        }
        return backOff(consumer, partition, error, chunk[0].offset);
      }
      failures.delete(partition);
      // NOTE: the position moves exactly as far as the commit above; for a cut-short batch the seek
      // makes kafkajs fetch the undecided records again rather than skip them.
      if (endsBatch) resolveOffset(batch.lastOffset());
      else if (isLastChunk) consumer.seek({ topic: inputTopic, partition, offset: resumeAt ?? commitOffset.toString() });
      else resolveOffset(last.offset);
      if (metrics) {
        metrics.batchDuration.observe({ topic: inputTopic }, Number(process.hrtime.bigint() - began) / 1e9);
        for (const [phase, seconds] of Object.entries(result.phases)) metrics.chunkPhaseDuration.observe({ topic: inputTopic, phase }, seconds);
        metrics.messagesProcessed.inc({ topic: inputTopic, outcome: 'processed' }, result.processed - result.deadLettered);
        if (result.deadLettered) metrics.messagesProcessed.inc({ topic: inputTopic, outcome: 'dead-lettered' }, result.deadLettered);
        const lag = BigInt(batch.highWatermark) - commitOffset;
        metrics.consumerLag.set({ topic: inputTopic, partition: String(partition), group: groupId }, Number(lag > 0n ? lag : 0n));
      }
      if (!result.storeWritten) {
        // Kafka has the batch, Redis does not: this task's view is stale, so the next batch of this
        // partition starts with a new task, which restores the missing changelog records.
        dropTask(tasks, partition, task);
        return;
      }
      await heartbeat();
    }
  };

  const joined: Array<Promise<void>> = [];
  for (const member of members) {
    const { consumer, tasks } = member;
    joined.push(new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve())));
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      const assigned = payload.memberAssignment[inputTopic] ?? [];
      const revoked = [...tasks.keys()].filter((p) => !assigned.includes(p));
      // NOTE: rebalance. Every task of this consumer is dropped, not only revoked ones: while it was
      // out of the group another owner may have moved a kept partition on, so each partition starts
      // again with init (fence, restore, committed offset). The store's offset makes that restore short.
      logger.info({ assigned, revoked, member: members.indexOf(member) }, 'partitions assigned');
      void dropAllTasks([member]);
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (payload.restart) {
        logger.warn({ error: errorMessage(payload.error) }, 'consumer crashed; kafkajs restarts it');
        void dropAllTasks([member]);
        return;
      }
      crash(payload.error instanceof Error ? payload.error : new ProcessingFailedError(String(payload.error), { topic: inputTopic }, payload.error));
    });
  }
  // Ready when every consumer has joined the group once.
  void Promise.all(joined).then(() => resolveReady());

  await admin.connect();
  await wire.connect();
  for (const member of members) {
    const { consumer } = member;
    await consumer.connect();
    await consumer.subscribe({ topic: inputTopic, fromBeginning: options.fromBeginning ?? true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 12,
      eachBatch: eachBatchOf(member),
    });
  }

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      logger.info('stopping');
      await shutdown();
      resolveStopped();
      logger.info('stopped');
    })();
    return stopping;
  };

  return { ready, stopped, stop };
}
