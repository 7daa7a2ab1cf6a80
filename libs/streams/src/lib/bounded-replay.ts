import type { Admin, Consumer, ConsumerConfig, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from '@waybill/platform';
import { BoundedReplayError, errorMessage } from './errors';
import { committedMessages } from './transaction-filter';

/** Replay `[from, to)` of one partition; `topic` is the physical topic name (prefix included). */
export interface ReplayRange {
  topic: string;
  partition: number;
  from: bigint;
  to: bigint;
}

export interface BoundedReplayOptions<R extends ReplayRange = ReplayRange> {
  kafka: Kafka;
  admin: Admin;
  ranges: readonly R[];
  /**
   * The throwaway consumer group, fresh for every replay (it holds no offsets, so a rejoin starts
   * from the log start): name it after its owner, e.g. `${owner}.restore.${topic}.${p}.${random}`.
   */
  groupId: string;
  partitionsConcurrently?: number;
  /** At most this many records per `onRecords` call; by default every wanted record of a fetch at once. */
  chunkSize?: number;
  /** Fail when no partition's position moved for this long. */
  stallTimeoutMs?: number;
  /** Fetch sizes and timeouts; the group id and read_committed are the replay's own. */
  consumerConfig?: Partial<Omit<ConsumerConfig, 'groupId' | 'readUncommitted'>>;
  /**
   * Committed records of one range, in offset order, all in `[from, to)` and never one already
   * handed over. Calls for one partition never overlap; an error thrown here fails the replay
   * and is rethrown unchanged.
   */
  onRecords(range: R, messages: KafkaMessage[]): Promise<void>;
  /** Offsets behind the positions, summed; called when a position moves and about once a second. */
  onProgress?(offsetsDone: number, offsetsTotal: number): Promise<void> | void;
  logger?: Logger;
}

export interface BoundedReplayResult {
  /** Committed records handed to `onRecords`. */
  records: number;
  /** Offsets behind the positions, summed: `offsetsTotal` once the replay is done. */
  offsetsDone: number;
  /** Offsets between every range's `from` and `to` (records, transaction markers and aborted records). */
  offsetsTotal: number;
}

interface Track<R> {
  range: R;
  /** Every committed record below it is handed over; never past `range.to`. */
  position: bigint;
  paused: boolean;
}

const DEFAULT_STALL_TIMEOUT_MS = 30_000;
const RESUME_DELAY_MS = 100;

const partitionKey = (topic: string, partition: number) => `${topic}:${partition}`;

/**
 * Reads `ranges` (any partitions of any topics) read_committed with a throwaway consumer group,
 * since kafkajs has no manual `assign()`: it subscribes, pauses every partition it does not
 * replay, seeks each range to its `from` and hands the committed records to `onRecords` until
 * every range's position reaches its `to`. Then it disconnects and deletes the group.
 *
 * NOTE: termination. A transactional partition usually ends with a commit marker (a control
 * record) that kafkajs never hands to eachBatch, so "last delivered offset + 1 == to" may never
 * hold. The replay therefore follows each partition's *position*, as Kafka Streams does: kafkajs's
 * Batch keeps control and aborted records in `messagesWithinOffset` and `batch.lastOffset()` is the
 * last of them, so a complete batch moves the position to `lastOffset() + 1`, which is where kafkajs
 * fetches next. A fetch holding only markers or aborted records never reaches eachBatch; kafkajs's
 * runner emits END_BATCH_PROCESS for it (batchSize 0) with that `lastOffset`, which moves the
 * position too.
 */
export async function replayPartitions<R extends ReplayRange>(options: BoundedReplayOptions<R>): Promise<BoundedReplayResult> {
  const { kafka, admin, groupId, chunkSize, onRecords, logger } = options;
  const stallTimeoutMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
  const tracks = new Map<string, Track<R>>();
  let offsetsTotal = 0;
  for (const range of options.ranges) {
    if (range.to <= range.from) continue;
    const key = partitionKey(range.topic, range.partition);
    if (tracks.has(key)) throw new BoundedReplayError(`two ranges for ${key}`, { groupId, topic: range.topic, partition: range.partition });
    tracks.set(key, { range, position: range.from, paused: false });
    offsetsTotal += Number(range.to - range.from);
  }
  let records = 0;
  if (tracks.size === 0) return { records, offsetsDone: 0, offsetsTotal };

  const topics = [...new Set([...tracks.values()].map((t) => t.range.topic))];
  // Read before run(), so nothing awaits between the group's creation and the pauses and seeks.
  const { topics: metadata } = await admin.fetchTopicMetadata({ topics });
  const consumer: Consumer = kafka.consumer({
    maxWaitTimeInMs: 250,
    allowAutoTopicCreation: false,
    ...options.consumerConfig,
    groupId,
    readUncommitted: false,
  });

  let offsetsDone = 0;
  let lastProgress = Date.now();
  let failure: unknown;
  let settle: (error?: unknown) => void = () => undefined;
  const finished = new Promise<void>((resolve, reject) => {
    settle = (error?: unknown) => (error === undefined ? resolve() : reject(error));
  });
  // Awaited later; marked handled now so a failure during the join is not an unhandled rejection.
  finished.catch(() => undefined);
  const fail = (error: unknown) => {
    failure ??= error;
    settle(failure);
  };
  const report = async () => options.onProgress?.(offsetsDone, offsetsTotal);

  const advance = (track: Track<R>, next: bigint): void => {
    const capped = next > track.range.to ? track.range.to : next;
    if (capped <= track.position) return;
    offsetsDone += Number(capped - track.position);
    track.position = capped;
    lastProgress = Date.now();
    if (capped >= track.range.to && !track.paused) {
      track.paused = true;
      consumer.pause([{ topic: track.range.topic, partitions: [track.range.partition] }]);
    }
    if (failure === undefined && [...tracks.values()].every((t) => t.position >= t.range.to)) settle();
  };

  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.batchSize !== 0) return;
    const track = tracks.get(partitionKey(payload.topic, payload.partition));
    if (!track) return;
    advance(track, BigInt(payload.lastOffset) + 1n);
    report().catch(fail);
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    fail(new BoundedReplayError(`replay consumer crashed: ${errorMessage(payload.error)}`, { groupId }, payload.error));
  });

  const ticker = setInterval(() => {
    if (Date.now() - lastProgress > stallTimeoutMs) {
      const behind = [...tracks.values()].filter((t) => t.position < t.range.to);
      const where = behind.slice(0, 5).map((t) => `${partitionKey(t.range.topic, t.range.partition)} at ${t.position} of ${t.range.to}`);
      fail(new BoundedReplayError(`replay stalled for ${Math.round(stallTimeoutMs / 1000)} s: ${where.join(', ')}`, { groupId, stalled: where }));
    }
    report().catch(fail);
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
        const track = tracks.get(partitionKey(batch.topic, batch.partition));
        if (!track || track.position >= track.range.to) return;
        const { topic, partition } = batch;
        // kafkajs's Batch keeps the offset it fetched from (batch.js); it is not in the typings.
        // Below the position is a refetch (a rejoin starts the group over at the log start): those
        // records are dropped below. Past it, kafkajs skipped records (an offset reset): give up.
        const fetchedOffset = BigInt(String((batch as unknown as { fetchedOffset: string | number }).fetchedOffset));
        if (fetchedOffset > track.position) {
          fail(
            new BoundedReplayError(`replay of ${partitionKey(topic, partition)} jumped to ${fetchedOffset}, expected ${track.position}`, {
              groupId,
              topic,
              partition,
              offset: fetchedOffset.toString(),
            }),
          );
          return;
        }
        try {
          const { messages, complete, resumeAt } = committedMessages(batch);
          const from = track.position;
          const wanted = messages.filter((m) => {
            const offset = BigInt(m.offset);
            return offset >= from && offset < track.range.to;
          });
          const size = chunkSize ?? Math.max(wanted.length, 1);
          for (let start = 0; start < wanted.length; start += size) {
            const chunk = wanted.slice(start, start + size);
            await onRecords(track.range, chunk);
            records += chunk.length;
            advance(track, BigInt(chunk[chunk.length - 1].offset) + 1n);
            await report();
            await heartbeat();
            if (failure !== undefined) return;
          }
          if (complete) {
            resolveOffset(batch.lastOffset());
            advance(track, BigInt(batch.lastOffset()) + 1n);
          } else if (track.position < track.range.to) {
            // A record whose transaction marker lies beyond this fetch: fetch again from it.
            const undecided = BigInt(resumeAt ?? batch.firstOffset() ?? track.position.toString());
            const at = undecided > track.position ? undecided : track.position;
            advance(track, at);
            consumer.seek({ topic, partition, offset: at.toString() });
            await new Promise((resolve) => setTimeout(resolve, RESUME_DELAY_MS));
          }
          await report();
        } catch (error) {
          fail(error);
        }
      },
    });
    // The consumer group exists as soon as run() is called (kafkajs creates it synchronously), so
    // pauses and seeks land before the first fetch, exactly as kafkajs's admin.setOffsets does.
    for (const t of metadata) {
      const idle = t.partitions.map((p) => p.partitionId).filter((p) => !tracks.has(partitionKey(t.name, p)));
      if (idle.length) consumer.pause([{ topic: t.name, partitions: idle }]);
    }
    for (const { range } of tracks.values()) consumer.seek({ topic: range.topic, partition: range.partition, offset: range.from.toString() });
    await Promise.all([running, finished]);
    return { records, offsetsDone, offsetsTotal };
  } finally {
    clearInterval(ticker);
    await consumer.disconnect().catch(() => undefined);
    await deleteThrowawayGroup(admin, groupId, logger);
  }
}

/**
 * Deletes a consumer group nobody will join again. The coordinator may still be completing the
 * member's LeaveGroup; a group left behind is harmless but clutters `kafka-consumer-groups --list`,
 * so a few tries, and never an error.
 */
export async function deleteThrowawayGroup(admin: Admin, groupId: string, logger?: Logger): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await admin.deleteGroups([groupId]);
      return;
    } catch (error) {
      if (JSON.stringify((error as { groups?: unknown }).groups ?? '').includes('GROUP_ID_NOT_FOUND')) return;
      if (attempt >= 5) {
        logger?.warn({ groupId, error: errorMessage(error) }, 'throwaway consumer group not deleted');
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}
