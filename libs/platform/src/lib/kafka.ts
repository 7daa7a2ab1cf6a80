import { Kafka, logLevel, type Admin, type Consumer, type LogEntry } from 'kafkajs';
import type { Logger } from 'pino';
import { kafkaSecurity, type ConnectionConfig } from './connections';
import { kafkaLogSink } from './kafka-log';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * A kafkajs client whose logs go through the app's pino logger, as structured lines, secured as
 * `config`'s KAFKA_SECURITY_PROTOCOL and friends say (plaintext when they are unset).
 */
export function createKafka(options: { clientId: string; brokers: string[]; logger: Logger; config?: Partial<ConnectionConfig> }): Kafka {
  const sink = kafkaLogSink(options.logger.child({ component: 'kafkajs' }));
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    ...kafkaSecurity(options.config ?? {}),
    logLevel: logLevel.WARN,
    retry: { initialRetryTime: 200, retries: 10 },
    logCreator:
      () =>
      ({ namespace, level, log }: LogEntry) => {
        const { message, timestamp: _timestamp, logger: _name, ...extra } = log;
        sink.write(LEVELS[level] ?? 'info', namespace, message, extra);
      },
  });
}

export interface NewTopic {
  topic: string;
  numPartitions: number;
  replicationFactor: number;
  configs?: Record<string, string>;
}

const METADATA_NOT_YET_PROPAGATED = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE', 'NOT_LEADER_FOR_PARTITION', 'NOT_LEADER_OR_FOLLOWER']);

/**
 * Creates topics and waits until every partition has a leader. kafkajs' own `waitForLeaders`
 * retries only LEADER_NOT_AVAILABLE, but a KRaft broker can still answer
 * UNKNOWN_TOPIC_OR_PARTITION for a moment after CreateTopics returns (its metadata image lags
 * the controller), which made `createTopics` fail at random. Topics that already exist are
 * not an error: the caller asked for them to exist.
 */
export async function createTopicsAndAwaitLeaders(admin: Admin, topics: readonly NewTopic[], timeoutMs = 30_000): Promise<void> {
  if (!topics.length) return;
  try {
    await admin.createTopics({
      waitForLeaders: false,
      topics: topics.map(({ topic, numPartitions, replicationFactor, configs = {} }) => ({
        topic,
        numPartitions,
        replicationFactor,
        configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })),
      })),
    });
  } catch (err) {
    const errors = (err as { errors?: Array<{ type?: string }> }).errors;
    if (!errors?.every((e) => e.type === 'TOPIC_ALREADY_EXISTS')) throw err;
  }
  const names = topics.map((t) => t.topic);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const { topics: described } = await admin.fetchTopicMetadata({ topics: names });
      const led = described.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
      // The metadata cache can name a leader before that broker serves the partition, and a
      // produce then gets NOT_LEADER (which a plain producer's retry turns into duplicates).
      // ListOffsets is answered by the leader itself: once it answers, the partition is served.
      if (led) {
        for (const name of names) await admin.fetchTopicOffsets(name);
        return;
      }
    } catch (err) {
      if (!METADATA_NOT_YET_PROPAGATED.has((err as { type?: string }).type ?? '')) throw err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for leaders of ${names.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * kafkajs restarts a consumer after a retriable failure, but after a non-retriable one (e.g. the
 * broker unreachable for longer than the retry budget) it stops for good while the process lives
 * on, serving HTTP from a loop that no longer runs. Hand that to `onCrash` (runApp exits 1, the
 * supervisor restarts the app).
 */
export function crashWithConsumer(consumer: Consumer, onCrash: (err: Error) => void, logger: Logger): void {
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (payload.restart) {
      logger.warn({ err: payload.error }, 'consumer crashed; kafkajs restarts it');
      return;
    }
    onCrash(payload.error instanceof Error ? payload.error : new Error(String(payload.error)));
  });
}

/**
 * Moves a freshly started consumer of `topic` back to the first records written at or after
 * `sinceMs` (epoch ms), on every partition. For a consumer group that is new on every start and
 * would otherwise begin at the end, missing what arrived while the app was down.
 */
export async function rewindToTime(kafka: Kafka, consumer: Consumer, topic: string, sinceMs: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsetsByTimestamp(topic, sinceMs);
    for (const { partition, offset } of offsets) consumer.seek({ topic, partition, offset });
  } finally {
    await admin.disconnect();
  }
}
