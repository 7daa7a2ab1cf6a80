import { randomUUID } from 'node:crypto';
import type { Batch, Consumer, Kafka, KafkaMessage } from 'kafkajs';
import { deadLetterTopic, TOPICS, type Serde, type TopicName } from '@waybill/contracts';
import { runKafkaTool } from '@waybill/devstack';
import { committedMessages } from '@waybill/streams';
import { transactionFates, type CommittedRecord, type History, type LogRecord } from './history-checker';

/** Every topic a run writes: the five domain topics and their dead-letter topics. */
export const HISTORY_TOPICS: readonly string[] = Object.values(TOPICS).flatMap((topic) => [topic, deadLetterTopic(topic)]);

export type TopicHistory = Pick<History, 'log' | 'committed' | 'committedEnds' | 'logEnds'> & {
  /** How long open transactions were waited for before they were left to the checker as hanging. */
  waitedForOpenTransactionsMs: number;
};

export interface TopicHistoryOptions {
  /** Physical topic → the logical topic its records decode as (TOPIC_PREFIX runs); default: the same name. */
  topics?: readonly string[];
  logicalTopic?: (topic: string) => string;
  /**
   * How long a transaction still open after the read may take to end. A producer that died
   * mid-transaction is aborted by the coordinator after its transaction timeout (kafkajs: 60 s);
   * one still open after that is hanging.
   */
  openTransactionGraceMs?: number;
  /** Give up on a read that does not reach its end offsets in this time. */
  readTimeoutMs?: number;
  note?: (what: string) => void;
}

const CONTROL_ABORT = 0;
const CONTROL_COMMIT = 1;

type RawMessage = KafkaMessage & {
  isControlRecord?: boolean;
  batchContext?: { producerId?: string; producerEpoch?: number; inTransaction?: boolean };
};

const partitionKey = (topic: string, partition: number) => `${topic}:${partition}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Reads partitions of `topics` from the beginning and knows, per partition, the offset it has
 * read through. kafkajs hands a batch of nothing but control records (a trailing transaction
 * marker) to no eachBatch, so positions also follow END_BATCH_PROCESS, which it emits for those.
 */
class PartitionReader {
  private readonly positions = new Map<string, bigint>();
  /** Partitions sought back to an offset: their position counts again once a batch starts there. */
  private readonly rewound = new Map<string, bigint>();
  private consumer?: Consumer;
  private failure: unknown;

  constructor(
    private readonly kafka: Kafka,
    private readonly topics: readonly string[],
    private readonly readUncommitted: boolean,
    /** Takes a batch's records; returns an offset to read again from when it could not judge them all. */
    private readonly take: (batch: Batch) => Promise<string | undefined>,
  ) {}

  async start(): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId: `faults-history-${this.readUncommitted ? 'uncommitted' : 'committed'}-${randomUUID().slice(0, 8)}`,
      readUncommitted: this.readUncommitted,
      // One fetch per partition holds a whole chaos run's partition, so a transaction and its
      // marker are rarely split across fetches (when they are, a re-read joins them).
      maxBytesPerPartition: 16 * 1024 * 1024,
      maxBytes: 64 * 1024 * 1024,
      maxWaitTimeInMs: 500,
    });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: [...this.topics], fromBeginning: true });
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      const key = partitionKey(payload.topic, payload.partition);
      if (!this.rewound.has(key)) this.advance(key, BigInt(payload.lastOffset) + 1n);
    });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset }) => {
        try {
          const key = partitionKey(batch.topic, batch.partition);
          const rewoundTo = this.rewound.get(key);
          if (rewoundTo !== undefined) {
            const first = batch.firstOffset();
            if (first === null || BigInt(first) !== rewoundTo) return; // fetched before the seek
            this.rewound.delete(key);
          }
          const resumeAt = await this.take(batch);
          if (resumeAt !== undefined) {
            // The marker that decides these records is beyond this fetch: fetch from there again.
            this.seek(batch.topic, batch.partition, BigInt(resumeAt));
            await sleep(100);
            return;
          }
          resolveOffset(batch.lastOffset());
          this.advance(key, BigInt(batch.lastOffset()) + 1n);
        } catch (err) {
          this.failure = err;
        }
      },
    });
  }

  private advance(key: string, next: bigint): void {
    if (next > (this.positions.get(key) ?? 0n)) this.positions.set(key, next);
  }

  seek(topic: string, partition: number, offset: bigint): void {
    const key = partitionKey(topic, partition);
    this.rewound.set(key, offset);
    this.positions.set(key, offset);
    this.consumer?.seek({ topic, partition, offset: offset.toString() });
  }

  /** Resolves once every partition in `ends` has been read up to its end offset. */
  async readTo(ends: Map<string, bigint>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const behind = () => [...ends].filter(([key, end]) => (this.positions.get(key) ?? 0n) < end);
    while (behind().length) {
      if (this.failure) throw this.failure;
      if (Date.now() > deadline) {
        const list = behind().map(([key, end]) => `${key} at ${this.positions.get(key) ?? 0n} of ${end}`);
        throw new Error(`reading ${this.readUncommitted ? 'read_uncommitted' : 'read_committed'}: not at the end after ${timeoutMs} ms: ${list.join(', ')}`);
      }
      await sleep(100);
    }
    if (this.failure) throw this.failure;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

/** Each partition's high watermark (the read_uncommitted end), as Kafka's own tool reports it. */
async function highWatermarks(brokers: readonly string[], topics: readonly string[]): Promise<Map<string, bigint>> {
  // kafkajs's admin lists offsets read_committed only (the last stable offset, which stops at the
  // first open transaction); Kafka's Admin client lists read_uncommitted by default.
  // Only these topics: on a broker other tests share, one being created at the same moment (no
  // leader yet) makes the tool fail for every topic it was asked about.
  const exactly = `^(${topics.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`;
  const { stdout } = await runKafkaTool('org.apache.kafka.tools.GetOffsetShell', ['--bootstrap-server', brokers.join(','), '--time', '-1', '--exclude-internal-topics', '--topic', exactly]);
  const wanted = new Set(topics);
  const ends = new Map<string, bigint>();
  for (const line of stdout.split('\n')) {
    const match = /^(.+):(\d+):(\d+)$/.exec(line.trim());
    if (match && wanted.has(match[1])) ends.set(partitionKey(match[1], Number(match[2])), BigInt(match[3]));
  }
  for (const topic of topics) if (![...ends.keys()].some((k) => k.startsWith(`${topic}:`))) throw new Error(`GetOffsetShell reported no partitions of ${topic}`);
  return ends;
}

/** Each partition's last stable offset (the read_committed end). */
async function lastStableOffsets(kafka: Kafka, topics: readonly string[]): Promise<Map<string, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = new Map<string, bigint>();
    for (const topic of topics) for (const o of await admin.fetchTopicOffsets(topic)) ends.set(partitionKey(topic, o.partition), BigInt(o.high));
    return ends;
  } finally {
    await admin.disconnect();
  }
}

/** Waits until nothing is written any more: every last stable offset unchanged for `quietMs`. */
async function waitUntilQuiet(kafka: Kafka, topics: readonly string[], quietMs: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  let quietSince = Date.now();
  while (Date.now() < deadline) {
    const now = JSON.stringify([...(await lastStableOffsets(kafka, topics))].map(([k, v]) => [k, v.toString()]));
    if (now !== last) {
      last = now;
      quietSince = Date.now();
    } else if (Date.now() - quietSince >= quietMs) return;
    await sleep(500);
  }
}

const asStrings = (ends: Map<string, bigint>) => Object.fromEntries([...ends].map(([k, v]) => [k, v.toString()]));

function headersOf(message: KafkaMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) if (value !== undefined) headers[name] = Array.isArray(value) ? value.map(String).join(',') : String(value);
  return headers;
}

/**
 * Everything on `topics` twice: every record the broker holds (read_uncommitted, up to each high
 * watermark, markers included), and what a read_committed consumer is given (up to each last
 * stable offset, judged by transaction markers with committedMessages, as the apps read). The log
 * is read first and, while it shows open transactions, read again from their first offsets until
 * they end or `openTransactionGraceMs` is over; the committed read follows, so it does not stop
 * at a transaction that was about to be aborted.
 */
export async function readTopicHistory(kafka: Kafka, serde: Serde, brokers: readonly string[], options: TopicHistoryOptions = {}): Promise<TopicHistory> {
  const topics = options.topics ?? HISTORY_TOPICS;
  const logical = options.logicalTopic ?? ((t: string) => t);
  const domainTopics = new Set<string>(Object.values(TOPICS));
  const readTimeoutMs = options.readTimeoutMs ?? 120_000;
  const note = options.note ?? (() => undefined);
  await waitUntilQuiet(kafka, topics, 3_000, 60_000);

  const log = new Map<string, LogRecord>();
  const logReader = new PartitionReader(kafka, topics, true, async (batch) => {
    for (const message of (batch as unknown as { messagesWithinOffset: RawMessage[] }).messagesWithinOffset) {
      const key = `${batch.topic}:${batch.partition}@${message.offset}`;
      if (log.has(key)) continue;
      const context = message.batchContext ?? {};
      const record: LogRecord = {
        topic: batch.topic,
        partition: batch.partition,
        offset: message.offset,
        producerId: context.producerId ?? '-1',
        producerEpoch: context.producerEpoch ?? -1,
        transactional: context.inTransaction === true,
      };
      if (message.isControlRecord) {
        const type = message.key && message.key.length >= 4 ? message.key.readInt16BE(2) : -1;
        if (type !== CONTROL_ABORT && type !== CONTROL_COMMIT) continue; // not a transaction marker
        record.marker = type === CONTROL_COMMIT ? 'commit' : 'abort';
      }
      log.set(key, record);
    }
    return undefined;
  });

  const committed = new Map<string, CommittedRecord>();
  const committedReader = new PartitionReader(kafka, topics, false, async (batch) => {
    const { messages, complete, resumeAt } = committedMessages(batch);
    for (const message of messages) {
      const key = `${batch.topic}:${batch.partition}@${message.offset}`;
      if (committed.has(key)) continue;
      const value = domainTopics.has(logical(batch.topic)) ? (await serde.decode(message.value, logical(batch.topic) as TopicName)).value : message.value;
      committed.set(key, { topic: batch.topic, partition: batch.partition, offset: message.offset, key: message.key?.toString() ?? '', value, headers: headersOf(message) });
    }
    return complete ? undefined : (resumeAt ?? batch.firstOffset() ?? '0');
  });

  try {
    await logReader.start();
    let logEnds = await highWatermarks(brokers, topics);
    await logReader.readTo(logEnds, readTimeoutMs);
    const graceEnds = Date.now() + (options.openTransactionGraceMs ?? 75_000);
    const waitingSince = Date.now();
    for (let round = 0; ; round += 1) {
      const { open } = transactionFates([...log.values()]);
      if (!open.length) break;
      if (Date.now() > graceEnds) {
        note(`${open.length} transactions still open after ${Math.round((Date.now() - waitingSince) / 1000)} s: hanging`);
        break;
      }
      if (round === 0) note(`${open.length} open transactions, e.g. ${open[0].topic}:${open[0].partition} from offset ${open[0].firstOffset} (producer ${open[0].producerId}): reading them again until they end`);
      await sleep(3_000);
      // A re-read from the transaction's first record fetches it together with what follows, its
      // marker too if it has one by now.
      const firstOpen = new Map<string, { topic: string; partition: number; offset: bigint }>();
      for (const t of open) {
        const key = partitionKey(t.topic, t.partition);
        const offset = BigInt(t.firstOffset);
        const earlier = firstOpen.get(key);
        if (!earlier || offset < earlier.offset) firstOpen.set(key, { topic: t.topic, partition: t.partition, offset });
      }
      for (const { topic, partition, offset } of firstOpen.values()) logReader.seek(topic, partition, offset);
      logEnds = await highWatermarks(brokers, topics);
      await logReader.readTo(logEnds, readTimeoutMs);
    }
    const waitedForOpenTransactionsMs = Date.now() - waitingSince;

    const committedEnds = await lastStableOffsets(kafka, topics);
    await committedReader.start();
    await committedReader.readTo(committedEnds, readTimeoutMs);

    // Anything written since the log was read must be in it too, or its records cannot be judged.
    const later = await highWatermarks(brokers, topics);
    if ([...later].some(([key, end]) => end > (logEnds.get(key) ?? 0n))) {
      logEnds = later;
      await logReader.readTo(logEnds, readTimeoutMs);
    }
    return { log: [...log.values()], committed: [...committed.values()], committedEnds: asStrings(committedEnds), logEnds: asStrings(logEnds), waitedForOpenTransactionsMs };
  } finally {
    await Promise.allSettled([logReader.stop(), committedReader.stop()]);
  }
}
