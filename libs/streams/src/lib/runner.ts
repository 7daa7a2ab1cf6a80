import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type Redis from 'ioredis';
import type { AppMetrics, Logger } from '@waybill/platform';
import { deadLetterTopic } from '@waybill/contracts';
import { decodeErrorPolicy, type BadRecordHandler, type ErrorClass } from './dead-letter';
import { BadRecordError, ProcessingFailedError, ProcessingStalledError, StreamsConfigError, TaskCorruptedError, TaskMigratedError, errorCode, errorMessage, isRebalanceError } from './errors';
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
  redis?: Redis;
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
  /** Where a group without committed offsets starts. Default true: no command is ever skipped. */
  fromBeginning?: boolean;
  /** Longest a fetch waits for data; also bounds how long stop() waits for an idle fetch. Default 500. */
  maxWaitTimeInMs?: number;
  /** Consecutive infrastructure failures of one partition before the runner gives up. Default 10. */
  maxRetries?: number;
  restoreStallTimeoutMs?: number;
  /**
   * A chunk in hand longer than this is stuck (a hung Redis or broker call, a processor that never
   * returns): the runner crashes with STREAMS_PROCESSING_STALLED and leaves the group, so its
   * partitions move to a live member. kafkajs heartbeats on while lanes drain, so without this the
   * group would keep a stuck member for ever. Default 30000.
   */
  stallTimeoutMs?: number;
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
  const sessionTimeout = options.sessionTimeout ?? 30_000;

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
  const consumer: Consumer = kafka.consumer({
    groupId,
    readUncommitted: false,
    sessionTimeout,
    heartbeatInterval: Math.min(3_000, Math.floor(sessionTimeout / 3)),
    maxWaitTimeInMs: options.maxWaitTimeInMs ?? 500,
    allowAutoTopicCreation: false,
  });
  const tasks = new Map<number, PartitionTask<S>>();
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

  // Decided records wait in their partition's lane; the lane's drain loop runs them in chunks of
  // whatever has arrived (at most maxBatchSize), one transaction at a time. eachBatch only fills
  // lanes, so kafkajs fetches again at once instead of after the slowest partition's transactions
  // (its one fetcher per broker waits for every batch of a fetch before the next one): a record
  // waits for its own partition's transaction in hand, not for the whole fetch round. Chunks grow
  // by themselves with the load: one record when it is light, everything that arrived during the
  // last transaction when it is not.
  interface LaneEntry {
    message: KafkaMessage;
    /** The offset committed when this entry ends a chunk (past trailing markers at a batch's end). */
    commitAfter: bigint;
  }
  interface Lane {
    task: PartitionTask<S>;
    queue: LaneEntry[];
    draining?: Promise<void>;
    highWatermark: bigint;
    /** Wakes an eachBatch waiting for room in the lane. */
    waiters: Array<() => void>;
    /** When the chunk in hand started (Date.now()); undefined between chunks. */
    chunkSince?: number;
  }
  const lanes = new Map<number, Lane>();
  /** Per partition: where a lane whose chunk failed must start again (its position ran ahead). */
  const restartAt = new Map<number, string>();
  /** Partitions whose task was migrated: the next batch heartbeats first, so a zombie learns it. */
  const migrated = new Set<number>();
  /** Per partition: no batch before this time (the back-off after a failed chunk). */
  const retryAt = new Map<number, number>();
  const laneRoom = Math.max(maxBatchSize, 1);

  const dropLane = (partition: number, lane: Lane) => {
    lane.queue = [];
    if (lanes.get(partition) === lane) lanes.delete(partition);
  };
  // NOTE: the lane's records were fetched, so kafkajs's position is past them; the seek makes the
  // next fetch deliver them again (kafkajs drops batches fetched before it: isStale, and the
  // runner skips a partition with a pending seek). Nothing is skipped.
  const restartFrom = (partition: number, offset: string) => {
    restartAt.set(partition, offset);
    try {
      consumer.seek({ topic: inputTopic, partition, offset });
    } catch (error) {
      logger.debug({ partition, error: errorMessage(error) }, 'seek after a failed chunk refused (stopping or no longer assigned)');
    }
  };

  const notify = (lane: Lane) => {
    const waiters = lane.waiters;
    lane.waiters = [];
    for (const wake of waiters) wake();
  };

  const dropTask = (partition: number, task: PartitionTask<S>) => {
    if (tasks.get(partition) === task) tasks.delete(partition);
    void task.dispose();
  };

  const dropAllTasks = async () => {
    const all = [...tasks.values()];
    tasks.clear();
    // Their lanes' drains see the disposed tasks and stop; what the lanes held is not committed.
    for (const lane of lanes.values()) {
      lane.queue = [];
      notify(lane);
    }
    lanes.clear();
    await Promise.all(all.map((task) => task.dispose()));
  };

  // A partition whose LSO stays below its high watermark for a whole interval, held open by a
  // producer of one of our live tasks: that task's commit lost its markers (see
  // commitHangingOfLiveProducer). Tasks that are assigned again resolve their hangs in init.
  const stableSeen = new Map<string, bigint>();
  const checkForHangs = async () => {
    const owners = new Map<string, PartitionTask<S>>();
    for (const task of tasks.values()) if (task.ready && task.producerId) owners.set(task.producerId, task);
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

  const stallTimeoutMs = options.stallTimeoutMs ?? 30_000;
  const stallTimer = setInterval(() => {
    if (crashError || stopping) return;
    const now = Date.now();
    for (const [partition, lane] of lanes) {
      if (lane.chunkSince === undefined || now - lane.chunkSince <= stallTimeoutMs) continue;
      crash(new ProcessingStalledError(`partition ${partition}'s chunk has been in hand for ${now - lane.chunkSince} ms (stall timeout ${stallTimeoutMs} ms)`, { topic: inputTopic, partition }));
      return;
    }
  }, Math.max(50, Math.min(1_000, Math.floor(stallTimeoutMs / 4))));
  stallTimer.unref();

  const shutdown = async () => {
    clearInterval(stallTimer);
    clearInterval(hangTimer);
    await hangCheck;
    await consumer.stop().catch(() => undefined);
    await consumer.disconnect().catch(() => undefined);
    await dropAllTasks();
    await admin.disconnect().catch(() => undefined);
    await wire.disconnect();
  };

  const crash = (error: Error) => {
    if (crashError || stopping) return;
    crashError = error;
    for (const lane of lanes.values()) notify(lane);
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

  const countFailure = (partition: number, error: unknown): number => {
    const count = (failures.get(partition) ?? 0) + 1;
    failures.set(partition, count);
    if (count > maxRetries) {
      const fatal = new ProcessingFailedError(`partition ${partition} failed ${count} times in a row: ${errorMessage(error)}`, { topic: inputTopic, partition }, error);
      crash(fatal);
      throw fatal;
    }
    return count;
  };
  const retryDelay = (count: number) => Math.min(5_000, 100 * 2 ** count);

  const backOff = async (partition: number, error: unknown, seekTo: string): Promise<void> => {
    const count = countFailure(partition, error);
    logger.warn({ partition, attempt: count, error: errorMessage(error), seekTo }, 'batch failed and was aborted; retrying from the committed position');
    // NOTE: the aborted records were fetched, so kafkajs's position is past them; seeking back to the
    // chunk's first offset makes the next fetch deliver them again. Nothing is skipped.
    consumer.seek({ topic: inputTopic, partition, offset: seekTo });
    await new Promise((resolve) => setTimeout(resolve, retryDelay(count)));
  };

  const drain = async (partition: number, lane: Lane): Promise<void> => {
    const { task } = lane;
    const current = () => !task.isDisposed && !crashError && !stopping && lanes.get(partition) === lane;
    while (lane.queue.length && current()) {
      const entries = lane.queue.splice(0, maxBatchSize);
      notify(lane);
      const chunk = entries.map((e) => e.message);
      const commitOffset = entries[entries.length - 1].commitAfter;
      const began = process.hrtime.bigint();
      // How long the chunk's oldest record waited between its producer and this decision: fetch
      // wait, the chunk ahead of it in its lane (its CreateTime, same machine's clock).
      metrics?.chunkPhaseDuration.observe({ topic: inputTopic, phase: 'wait' }, Math.max(0, Date.now() - Number(chunk[0].timestamp)) / 1000);
      let result;
      lane.chunkSince = Date.now();
      try {
        result = await task.runChunk(chunk, commitOffset);
      } catch (error) {
        lane.chunkSince = undefined;
        // Nothing of this chunk or after it is committed: the lane is dropped, and the partition's
        // next batch starts a new task there (init, then the group's committed offset).
        dropLane(partition, lane);
        dropTask(partition, task);
        if (task.isDisposed && !(error instanceof BadRecordError) && (stopping || crashError)) {
          // Expected after a stall or while stopping: a fenced or aborted chunk commits nothing.
          logger.info({ partition, code: errorCode(error), error: errorMessage(error) }, 'the chunk in hand of a closed task failed; nothing of it was committed');
          break;
        }
        restartFrom(partition, chunk[0].offset);
        if (error instanceof BadRecordError) {
          crash(error);
          break;
        }
        if (error instanceof TaskMigratedError || error instanceof TaskCorruptedError) {
          logger.warn({ partition, code: error.code, error: error.message }, 'batch dropped, Redis untouched; the partition starts again with init');
          migrated.add(partition);
          break;
        }
        try {
          const count = countFailure(partition, error);
          logger.warn({ partition, attempt: count, error: errorMessage(error), seekTo: chunk[0].offset }, 'batch failed and was aborted; retrying from the committed position');
          retryAt.set(partition, Date.now() + retryDelay(count));
        } catch {
          // countFailure crashed the runner
        }
        break;
      }
      lane.chunkSince = undefined;
      failures.delete(partition);
      if (metrics) {
        metrics.batchDuration.observe({ topic: inputTopic }, Number(process.hrtime.bigint() - began) / 1e9);
        for (const [phase, seconds] of Object.entries(result.phases)) metrics.chunkPhaseDuration.observe({ topic: inputTopic, phase }, seconds);
        metrics.messagesProcessed.inc({ topic: inputTopic, outcome: 'processed' }, result.processed - result.deadLettered);
        if (result.deadLettered) metrics.messagesProcessed.inc({ topic: inputTopic, outcome: 'dead-lettered' }, result.deadLettered);
        const lag = lane.highWatermark - commitOffset;
        metrics.consumerLag.set({ topic: inputTopic, partition: String(partition), group: groupId }, Number(lag > 0n ? lag : 0n));
      }
      if (!result.storeWritten) {
        // Kafka has the chunk, Redis does not: this task's view is stale, so the partition's next
        // batch starts with a new task, which restores the missing changelog records.
        dropLane(partition, lane);
        restartFrom(partition, commitOffset.toString());
        dropTask(partition, task);
        break;
      }
    }
    lane.draining = undefined;
    notify(lane);
  };

  const eachBatch = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> => {
    if (crashError) throw crashError;
    const { partition } = batch;
    const notBefore = retryAt.get(partition);
    if (notBefore !== undefined) {
      retryAt.delete(partition);
      if (notBefore > Date.now()) await new Promise((resolve) => setTimeout(resolve, notBefore - Date.now()));
      if (crashError) throw crashError;
    }
    if (migrated.delete(partition)) {
      // A heartbeat tells a zombie that the group moved on (it throws, and kafkajs rejoins).
      await heartbeat();
    }
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
        // A lane whose chunk failed left kafkajs's position ahead of every commit: without a
        // committed offset, start where that chunk started.
        const committed = await fetchCommitted(partition);
        const startAt = committed ?? (restartAt.has(partition) ? BigInt(restartAt.get(partition) ?? '0') : undefined);
        restartAt.delete(partition);
        if (startAt !== undefined && startAt !== BigInt(fetchedOffset)) {
          logger.info({ partition, fetchedOffset, committed: committed?.toString(), startAt: startAt.toString() }, 'position differs from the committed offset; seeking');
          consumer.seek({ topic: inputTopic, partition, offset: startAt.toString() });
          return;
        }
      } catch (error) {
        dropTask(partition, task);
        if (isRebalanceError(error)) throw error;
        return backOff(partition, error, restartAt.get(partition) ?? fetchedOffset);
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
    let lane = lanes.get(partition);
    if (!lane || lane.task !== task) {
      lane = { task, queue: [], highWatermark: 0n, waiters: [] };
      lanes.set(partition, lane);
    }
    // Back-pressure: a lane holds about one chunk ahead of the one in hand. The fetch round waits
    // here, so the wait heartbeats (kafkajs throttles it to the heartbeat interval).
    while (lane.queue.length >= laneRoom && lanes.get(partition) === lane && isRunning() && !isStale() && !crashError) {
      const current = lane;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((wake) => {
        current.waiters.push(wake);
        timer = setTimeout(wake, 1_000);
      });
      clearTimeout(timer);
      if (!crashError && isRunning() && !isStale()) await heartbeat();
    }
    if (crashError) throw crashError;
    if (lanes.get(partition) !== lane || task.isDisposed || !isRunning() || isStale()) return;
    // NOTE: for the batch's last record we commit past batch.lastOffset(), which includes trailing
    // transaction markers and aborted records that eachBatch never sees; committing only
    // last message + 1 would make the group restart on a bare marker. A batch cut short by the
    // transaction filter ends at its last decided record instead.
    const endOffset = complete ? BigInt(batch.lastOffset()) + 1n : undefined;
    messages.forEach((message, i) => {
      const commitAfter = i === messages.length - 1 && endOffset !== undefined ? endOffset : BigInt(message.offset) + 1n;
      lane?.queue.push({ message, commitAfter });
    });
    lane.highWatermark = BigInt(batch.highWatermark);
    // NOTE: the position moves past what the lane holds; commits still move only with the
    // transactions (autoCommit is off), and a failed chunk restarts the partition from them.
    // For a cut-short batch the seek makes kafkajs fetch the undecided records again.
    if (complete) resolveOffset(batch.lastOffset());
    else consumer.seek({ topic: inputTopic, partition, offset: resumeAt ?? (BigInt(messages[messages.length - 1].offset) + 1n).toString() });
    const filled = lane;
    filled.draining ??= drain(partition, filled);
  };

  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    const assigned = payload.memberAssignment[inputTopic] ?? [];
    const revoked = [...tasks.keys()].filter((p) => !assigned.includes(p));
    // NOTE: rebalance. Every task is dropped, not only revoked ones: while this member was out of
    // the group another owner may have moved a kept partition on, so each partition starts again
    // with init (fence, restore, committed offset). The store's offset makes that restore short.
    logger.info({ assigned, revoked }, 'partitions assigned');
    void dropAllTasks();
    resolveReady();
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (payload.restart) {
      logger.warn({ error: errorMessage(payload.error) }, 'consumer crashed; kafkajs restarts it');
      void dropAllTasks();
      return;
    }
    crash(payload.error instanceof Error ? payload.error : new ProcessingFailedError(String(payload.error), { topic: inputTopic }, payload.error));
  });

  await admin.connect();
  await wire.connect();
  await consumer.connect();
  await consumer.subscribe({ topic: inputTopic, fromBeginning: options.fromBeginning ?? true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 12,
    eachBatch,
  });

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
