import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, Kafka, KafkaMessage } from 'kafkajs';
import { UndecodableMessageError, type Serde } from '@waybill/contracts';
import { offsetField, toLedgerInput, type LedgerInput, type LedgerTopic, type OffsetMark } from '@waybill/ledger-projections';
import { committedMessages } from '@waybill/streams';
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
 * Replays the ledger topics over `ranges` with a throwaway consumer group (kafkajs has no
 * `assign()`), read_committed judged by the transaction markers in each fetch (`committedMessages`),
 * and hands the decoded records to `apply` in order. A partition is done when the consumer's
 * *position* reaches `to`: after a complete batch it is `lastOffset + 1`, which counts trailing
 * transaction markers that are never delivered as records; a fetch holding only markers or aborted
 * records never reaches eachBatch, so END_BATCH_PROCESS (emitted for it with `lastOffset`) moves
 * the position too. Records at or past `to` are left alone; records below the position (a rejoin
 * of the throwaway group fetching again from the start) are not applied twice.
 */
export async function replayLedger(options: ReplayOptions): Promise<ReplayCounts> {
  const { kafka, admin, serde, topicPrefix, ranges, chunkSize } = options;
  const key = (physical: string, partition: number) => `${physical}:${partition}`;
  const active = new Map<string, PartitionRange>();
  const position = new Map<string, bigint>();
  const counts: ReplayCounts = { records: 0, skipped: 0, undecodable: 0, offsetsDone: 0, offsetsTotal: 0 };
  for (const range of ranges) {
    if (range.to <= range.from) continue;
    active.set(key(topicPrefix + range.topic, range.partition), range);
    position.set(key(topicPrefix + range.topic, range.partition), range.from);
    counts.offsetsTotal += Number(range.to - range.from);
  }
  const finalMarks = (): OffsetMark[] => [...active.values()].map((r) => ({ topic: r.topic, partition: r.partition, next: r.to.toString() }));
  if (active.size === 0) {
    return counts;
  }

  const topics = [...new Set([...active.values()].map((r) => topicPrefix + r.topic))];
  const groupId = `${topicPrefix}${options.groupName}.${randomUUID().slice(0, 8)}`;
  const consumer: Consumer = kafka.consumer({
    groupId,
    readUncommitted: false,
    maxWaitTimeInMs: 250,
    maxBytesPerPartition: 4 * 1_048_576,
    maxBytes: 32 * 1_048_576,
    allowAutoTopicCreation: false,
    sessionTimeout: 60_000,
  });

  let failure: unknown;
  let settle!: (error?: unknown) => void;
  const finished = new Promise<void>((resolve, reject) => {
    settle = (error?: unknown) => (error === undefined ? resolve() : reject(error));
  });
  finished.catch(() => undefined);
  const fail = (error: unknown) => {
    failure ??= error;
    settle(failure);
  };
  let lastProgress = Date.now();
  const paused = new Set<string>();

  const advance = (physical: string, partition: number, next: bigint) => {
    const k = key(physical, partition);
    const range = active.get(k);
    const current = position.get(k);
    if (!range || current === undefined) return;
    const capped = next > range.to ? range.to : next;
    if (capped <= current) return;
    counts.offsetsDone += Number(capped - current);
    position.set(k, capped);
    lastProgress = Date.now();
    if (capped >= range.to && !paused.has(k)) {
      paused.add(k);
      consumer.pause([{ topic: physical, partitions: [partition] }]);
    }
    options.onProgress?.(counts);
    if ([...active.keys()].every((p) => position.get(p)! >= active.get(p)!.to)) settle();
  };

  const decodeAll = async (logical: LedgerTopic, partition: number, messages: KafkaMessage[]): Promise<LedgerInput[]> => {
    const inputs: LedgerInput[] = [];
    for (const message of messages) {
      try {
        const input = toLedgerInput(logical, partition, message.offset, await serde.decode(message.value, logical));
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

  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    // batchSize 0: a fetch of only control or aborted records, which never reaches eachBatch.
    if (payload.batchSize === 0) advance(payload.topic, payload.partition, BigInt(payload.lastOffset) + 1n);
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => fail(payload.error));

  const ticker = setInterval(() => {
    const stallMs = options.stallTimeoutMs ?? 60_000;
    if (Date.now() - lastProgress > stallMs) {
      const behind = [...active.entries()].filter(([k, r]) => position.get(k)! < r.to).map(([k, r]) => `${k} at ${position.get(k)} of ${r.to}`);
      fail(new KafkaRequestError(`replay stalled for ${Math.round(stallMs / 1000)} s: ${behind.slice(0, 5).join(', ')}`));
    }
  }, 1_000);

  try {
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    const running = consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: options.partitionsConcurrently,
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        if (failure !== undefined) return;
        const k = key(batch.topic, batch.partition);
        const range = active.get(k);
        const from = position.get(k);
        if (!range || from === undefined || from >= range.to) return;
        try {
          const { messages, complete, resumeAt } = committedMessages(batch);
          const wanted = messages.filter((m) => {
            const offset = BigInt(m.offset);
            return offset >= from && offset < range.to;
          });
          for (let start = 0; start < wanted.length; start += chunkSize) {
            const chunk = wanted.slice(start, start + chunkSize);
            const inputs = await decodeAll(range.topic, batch.partition, chunk);
            if (inputs.length) await options.apply(inputs, []);
            counts.records += inputs.length;
            advance(batch.topic, batch.partition, BigInt(chunk[chunk.length - 1].offset) + 1n);
            await heartbeat();
          }
          if (complete) {
            resolveOffset(batch.lastOffset());
            advance(batch.topic, batch.partition, BigInt(batch.lastOffset()) + 1n);
          } else {
            // A record whose transaction marker lies beyond this fetch: fetch again from it.
            const at = resumeAt ?? batch.firstOffset() ?? from.toString();
            advance(batch.topic, batch.partition, BigInt(at));
            consumer.seek({ topic: batch.topic, partition: batch.partition, offset: at });
            await new Promise((r) => setTimeout(r, 100));
          }
        } catch (error) {
          fail(error);
        }
      },
    });
    // Partitions with nothing to replay are paused before the first fetch (the group exists as soon
    // as run() is called, as in libs/streams' ChangelogRestorer).
    const { topics: meta } = await admin.fetchTopicMetadata({ topics });
    for (const t of meta) {
      const idle = t.partitions.map((p) => p.partitionId).filter((p) => !active.has(key(t.name, p)));
      if (idle.length) consumer.pause([{ topic: t.name, partitions: idle }]);
    }
    for (const range of active.values()) consumer.seek({ topic: topicPrefix + range.topic, partition: range.partition, offset: range.from.toString() });
    await running;
    await finished;
    // Everything up to each `to` is applied: record that in the offsets, markers included.
    await options.apply([], finalMarks());
    options.onProgress?.(counts);
    return counts;
  } finally {
    clearInterval(ticker);
    await consumer.disconnect().catch(() => undefined);
    await deleteGroup(admin, groupId);
  }
}

async function deleteGroup(admin: Admin, groupId: string): Promise<void> {
  // The coordinator may still be completing the member's LeaveGroup; a leftover throwaway group
  // only clutters `kafka-consumer-groups --list`, so a few tries and no error.
  for (let attempt = 1; attempt <= 5; attempt += 1) {
    try {
      await admin.deleteGroups([groupId]);
      return;
    } catch (error) {
      if (JSON.stringify((error as { groups?: unknown }).groups ?? '').includes('GROUP_ID_NOT_FOUND')) return;
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
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
