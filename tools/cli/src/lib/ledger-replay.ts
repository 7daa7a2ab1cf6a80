import { randomUUID } from 'node:crypto';
import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import { UndecodableMessageError, type Serde } from '@waybill/contracts';
import { offsetField, toLedgerInput, type LedgerInput, type LedgerTopic, type OffsetMark } from '@waybill/ledger-projections';
import { BoundedReplayError, replayPartitions } from '@waybill/streams';
import { KafkaRequestError } from '../errors';

/** Replay `[from, to)` of one partition: `from` its log start, `to` where the replay must end. */
export interface PartitionRange {
  topic: LedgerTopic;
  partition: number;
  from: bigint;
  to: bigint;
}

export interface ReplayCounts {
  /** Records handed to the projection. */
  records: number;
  /** Committed records the ledger does not project (another record type) or that never decode. */
  skipped: number;
  undecodable: number;
  /** Offsets behind the position, summed over partitions (records, markers and aborted records). */
  offsetsDone: number;
  offsetsTotal: number;
}

export interface ReplayOptions {
  kafka: Kafka;
  admin: Admin;
  serde: Serde;
  topicPrefix: string;
  ranges: readonly PartitionRange[];
  /** Names the throwaway group, e.g. `ledger.rebuild`: `${prefix}${name}.<random>`. */
  groupName: string;
  /** Records per call of `apply` (one atomic Redis write with `applyBatch`). */
  chunkSize: number;
  partitionsConcurrently: number;
  /**
   * Projects records of one partition, in offset order, then (once, at the very end) the marks
   * saying each partition is reflected up to its `to`. Calls for one partition never overlap.
   */
  apply(inputs: LedgerInput[], marks: OffsetMark[]): Promise<void>;
  onProgress?(counts: ReplayCounts): void;
  onWarning?(message: string): void;
  /** Fail when no partition's position moved for this long. */
  stallTimeoutMs?: number;
}

/** The current offsets of every partition of the ledger topics: log start and (read_committed) end. */
export async function ledgerPartitions(admin: Admin, topicPrefix: string, topics: readonly LedgerTopic[]): Promise<Array<{ topic: LedgerTopic; partition: number; low: bigint; high: bigint }>> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(topicPrefix + t)).map((t) => topicPrefix + t);
  if (missing.length) {
    throw new KafkaRequestError(`topic${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not on the cluster (wrong --topic-prefix or --bootstrap-server?)`, { topics: missing });
  }
  const out: Array<{ topic: LedgerTopic; partition: number; low: bigint; high: bigint }> = [];
  for (const topic of topics) {
    // kafkajs lists offsets read_committed: `high` is the last stable offset, where a
    // read_committed consumer (the ledger) can actually get to.
    for (const o of await admin.fetchTopicOffsets(topicPrefix + topic)) {
      out.push({ topic, partition: o.partition, low: BigInt(o.low), high: BigInt(o.high) });
    }
  }
  return out.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
}

/**
 * Replays the ledger topics over `ranges` (`replayPartitions`: a throwaway consumer group,
 * read_committed judged by the transaction markers, each partition done when its position reaches
 * `to`), hands the decoded records to `apply` in order, then marks every partition reflected up
 * to its `to`, markers included.
 */
export async function replayLedger(options: ReplayOptions): Promise<ReplayCounts> {
  const { serde, topicPrefix } = options;
  const replayed = options.ranges.filter((r) => r.to > r.from);
  const counts: ReplayCounts = { records: 0, skipped: 0, undecodable: 0, offsetsDone: 0, offsetsTotal: 0 };
  counts.offsetsTotal = replayed.reduce((sum, r) => sum + Number(r.to - r.from), 0);
  if (replayed.length === 0) return counts;

  const decodeAll = async (logical: LedgerTopic, partition: number, messages: KafkaMessage[]): Promise<LedgerInput[]> => {
    const inputs: LedgerInput[] = [];
    for (const message of messages) {
      try {
        const input = toLedgerInput(logical, partition, message.offset, await serde.decode(message.value, logical), message.timestamp);
        if (input) inputs.push(input);
        else counts.skipped += 1;
      } catch (err) {
        // As the ledger app does: a record that can never decode is skipped (it is on the producer's
        // DLQ to fix); anything else (the registry down) fails the replay.
        if (!(err instanceof UndecodableMessageError)) throw err;
        counts.undecodable += 1;
        counts.skipped += 1;
        options.onWarning?.(`skipping ${offsetField(logical, partition)} offset ${message.offset}: ${err.message}`);
      }
    }
    return inputs;
  };

  try {
    const result = await replayPartitions({
      kafka: options.kafka,
      admin: options.admin,
      groupId: `${topicPrefix}${options.groupName}.${randomUUID().slice(0, 8)}`,
      ranges: replayed.map((r) => ({ ...r, topic: topicPrefix + r.topic, ledgerTopic: r.topic })),
      chunkSize: options.chunkSize,
      partitionsConcurrently: options.partitionsConcurrently,
      stallTimeoutMs: options.stallTimeoutMs ?? 60_000,
      consumerConfig: { maxBytesPerPartition: 4 * 1_048_576, maxBytes: 32 * 1_048_576, sessionTimeout: 60_000 },
      onRecords: async (range, messages) => {
        const inputs = await decodeAll(range.ledgerTopic, range.partition, messages);
        if (inputs.length) await options.apply(inputs, []);
        counts.records += inputs.length;
      },
      onProgress: (offsetsDone) => {
        counts.offsetsDone = offsetsDone;
        options.onProgress?.(counts);
      },
    });
    counts.offsetsDone = result.offsetsDone;
  } catch (error) {
    if (error instanceof BoundedReplayError) throw new KafkaRequestError(error.message, error.context, { cause: error });
    throw error;
  }
  await options.apply(
    [],
    replayed.map((r) => ({ topic: r.topic, partition: r.partition, next: r.to.toString() })),
  );
  options.onProgress?.(counts);
  return counts;
}

/**
 * Commits `offsets` for an idle group in one short membership: joins it with every topic paused,
 * commits once, leaves. kafkajs' admin.setOffsets does the same per topic and then waits for a
 * fetch, several seconds each; this is one join for all three topics.
 */
export async function commitGroupOffsets(
  kafka: Kafka,
  groupId: string,
  offsets: ReadonlyArray<{ topic: string; partition: number; offset: string }>,
): Promise<void> {
  if (offsets.length === 0) return;
  const topics = [...new Set(offsets.map((o) => o.topic))];
  const consumer = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
  let joined!: () => void;
  let crashed!: (error: unknown) => void;
  const ready = new Promise<void>((resolve, reject) => {
    joined = resolve;
    crashed = reject;
  });
  consumer.on(consumer.events.GROUP_JOIN, () => joined());
  consumer.on(consumer.events.CRASH, ({ payload }) => crashed(payload.error));
  try {
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => undefined });
    consumer.pause(topics.map((topic) => ({ topic })));
    await ready;
    await consumer.commitOffsets(offsets.map((o) => ({ ...o })));
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}
