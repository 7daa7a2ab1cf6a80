import type { Consumer, Kafka } from 'kafkajs';
import type { Cluster, Redis } from 'ioredis';
import { crashWithConsumer, rewindToTime, type AppMetrics, type Logger } from '@waybill/platform';
import { GROUP_COMMIT_INTERVAL_MS, ThrottledOffsetCommits, committedMessages } from '@waybill/streams';

/** Where an answer sits on its outcomes topic. */
export interface OutcomePosition {
  topic: string;
  partition: number;
  offset: string;
}

export interface TrackedOutcome<T> {
  outcome: T;
  position: OutcomePosition;
}

export interface OutcomeTrackerOptions<T> {
  /** The outcomes topic its decider writes in the same transaction as the change it answers. */
  topic: string;
  /** This instance's own group: every instance reads every partition (see OutcomeTracker). */
  groupId: string;
  /** Redis prefix of the stored answers: `<keyPrefix>:outcome:<commandId>`. */
  keyPrefix: string;
  ttlSeconds: number;
  /** How far back a starting tracker reads again, for answers that arrived while it was down. */
  replayMs: number;
  onCrash: (err: Error) => void;
  /** The command a record answers and its answer; undefined for a record nobody waits on. */
  read: (value: Buffer) => Promise<{ commandId: string; outcome: T } | undefined>;
  /** Observes `delivery`: an answer's record timestamp (when it was decided) → here, for answers someone waits on. */
  metrics?: AppMetrics;
}

/**
 * Follows an outcomes topic so a request can wait for the answer to the command it produced.
 * Every instance reads every partition (its own consumer group), because the decider answers on
 * the command's partition, not on the instance that asked. Answers are also kept in Redis, so a
 * poll, a retried Idempotency-Key or another instance finds them later.
 */
export class OutcomeTracker<T> {
  private readonly waiters = new Map<string, Set<(tracked: TrackedOutcome<T>) => void>>();
  private consumer?: Consumer;
  private joined = false;
  /** How far it read, for an operator: at most one commit per partition a second. */
  private groupOffsets?: ThrottledOffsetCommits;

  constructor(
    private readonly kafka: Kafka,
    private readonly redis: Redis | Cluster,
    private readonly options: OutcomeTrackerOptions<T>,
    private readonly logger: Logger,
  ) {}

  private outcomeKey(commandId: string): string {
    return `${this.options.keyPrefix}:outcome:${commandId}`;
  }

  get ready(): boolean {
    return this.joined;
  }

  async start(): Promise<void> {
    const consumer = this.kafka.consumer({ groupId: this.options.groupId, readUncommitted: false, maxWaitTimeInMs: 100 });
    this.consumer = consumer;
    const groupOffsets = new ThrottledOffsetCommits({ commit: (offsets) => consumer.commitOffsets(offsets), intervalMs: GROUP_COMMIT_INTERVAL_MS, logger: this.logger });
    this.groupOffsets = groupOffsets;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      this.joined = true;
      groupOffsets.clear();
    });
    crashWithConsumer(consumer, this.options.onCrash, this.logger);
    await consumer.connect();
    await consumer.subscribe({ topic: this.options.topic, fromBeginning: false });
    await consumer.run({
      // NOTE: the group's offsets only show an operator how far this instance read (a start reads
      // the recent past again by time, and stop deletes the group). kafkajs's autoCommit sends an
      // OffsetCommit after every partition's batch, a broker request and log append per answer at
      // low rates, so each partition's is committed at most once a second instead.
      autoCommit: false,
      // NOTE: every partition's answers go to Redis before their waiters are woken; one partition
      // at a time would queue twelve Redis round trips behind each other in every fetch round.
      partitionsConsumedConcurrently: 12,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset }) => {
        // NOTE: judged by the transaction markers, not kafkajs's read_committed filter, which can
        // hand over an aborted answer after a decider crash (see committedMessages).
        const { messages, complete, resumeAt } = committedMessages(batch);
        const arrived: Array<{ commandId: string; tracked: TrackedOutcome<T>; timestamp: number }> = [];
        for (const message of messages) {
          try {
            const read = message.value ? await this.options.read(message.value) : undefined;
            if (!read) continue;
            const tracked = { outcome: read.outcome, position: { topic: batch.topic, partition: batch.partition, offset: message.offset } };
            arrived.push({ commandId: read.commandId, tracked, timestamp: Number(message.timestamp) });
          } catch (err) {
            this.logger.warn({ err, topic: batch.topic, partition: batch.partition, offset: message.offset }, 'skipping an answer that does not decode');
          }
        }
        // One SET per answer, sent back to back (ioredis writes each at once): answers of different
        // commands live in different Redis Cluster slots, which one pipeline or MULTI cannot span.
        await Promise.all(arrived.map(({ commandId, tracked }) => this.redis.set(this.outcomeKey(commandId), JSON.stringify(tracked), 'EX', this.options.ttlSeconds)));
        const now = Date.now();
        for (const { commandId, tracked, timestamp } of arrived) {
          if (this.settle(commandId, tracked)) this.options.metrics?.requestPhaseDuration.observe({ phase: 'delivery' }, Math.max(0, now - timestamp) / 1000);
        }
        if (complete) {
          resolveOffset(batch.lastOffset());
          await groupOffsets.record(batch.topic, batch.partition, (BigInt(batch.lastOffset()) + 1n).toString());
        } else consumer.seek({ topic: batch.topic, partition: batch.partition, offset: resumeAt ?? batch.firstOffset() ?? '0' });
      },
    });
    // The group is new on every start, so it would begin at the end and never store the answers
    // that arrived while this instance was down: a client polling a command sent before a restart
    // would wait forever. Read the recent past again (storing an answer twice is harmless).
    await rewindToTime(this.kafka, consumer, this.options.topic, Date.now() - this.options.replayMs);
    const deadline = Date.now() + 30_000;
    while (!this.joined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }

  async stop(): Promise<void> {
    await this.groupOffsets?.stop();
    await this.consumer?.disconnect();
    // The group is this instance's alone: remove it so restarts do not leave groups behind.
    const admin = this.kafka.admin();
    await admin.connect();
    await admin.deleteGroups([this.options.groupId]).catch(() => undefined);
    await admin.disconnect();
  }

  /** The answer if it already arrived (here or on another instance). */
  async find(commandId: string): Promise<TrackedOutcome<T> | undefined> {
    const stored = await this.redis.get(this.outcomeKey(commandId));
    return stored ? (JSON.parse(stored) as TrackedOutcome<T>) : undefined;
  }

  /**
   * Registers interest before the command is produced (so a fast answer is never missed) and
   * returns a function that waits up to `timeoutMs` for it.
   */
  expect(commandId: string): (timeoutMs: number) => Promise<TrackedOutcome<T> | undefined> {
    let resolveOutcome!: (tracked: TrackedOutcome<T>) => void;
    const arrived = new Promise<TrackedOutcome<T>>((resolve) => (resolveOutcome = resolve));
    const set = this.waiters.get(commandId) ?? new Set();
    set.add(resolveOutcome);
    this.waiters.set(commandId, set);
    return async (timeoutMs) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        const already = await this.find(commandId);
        if (already) return already;
        return await Promise.race([arrived, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), timeoutMs)))]);
      } finally {
        clearTimeout(timer);
        set.delete(resolveOutcome);
        if (set.size === 0) this.waiters.delete(commandId);
      }
    };
  }

  /** Hands the answer to whoever waits for it here; true when someone did. */
  private settle(commandId: string, tracked: TrackedOutcome<T>): boolean {
    const waiting = this.waiters.get(commandId);
    for (const resolve of waiting ?? []) resolve(tracked);
    return Boolean(waiting?.size);
  }
}
