import type { Consumer, Kafka } from 'kafkajs';
import type Redis from 'ioredis';
import { TOPICS, type CommandOutcome, type Serde } from '@waybill/contracts';
import { crashWithConsumer, rewindToTime, type Logger } from '@waybill/platform';
import { committedMessages } from '@waybill/streams';

/** Where an outcome sits on `shipment.outcomes`: what a reader passes to wait for its own write. */
export interface OutcomePosition {
  topic: string;
  partition: number;
  offset: string;
}

export interface TrackedOutcome {
  outcome: CommandOutcome;
  position: OutcomePosition;
}


/**
 * Follows `shipment.outcomes` so a request can wait for the answer to the command it produced.
 * Every instance reads every partition (its own consumer group), because the reducer answers on
 * the command's partition, not on the instance that asked. Outcomes are also kept in Redis, so a
 * poll, a retried Idempotency-Key or another instance finds them later.
 */
export class OutcomeTracker {
  private readonly waiters = new Map<string, Set<(tracked: TrackedOutcome) => void>>();
  private consumer?: Consumer;
  private joined = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly redis: Redis,
    private readonly serde: Serde,
    private readonly options: { topic: string; groupId: string; keyPrefix: string; ttlSeconds: number; replayMs: number; onCrash: (err: Error) => void },
    private readonly logger: Logger,
  ) {}

  private outcomeKey(commandId: string): string {
    return `${this.options.keyPrefix}:outcome:${commandId}`;
  }

  get ready(): boolean {
    return this.joined;
  }

  async start(): Promise<void> {
    const consumer = this.kafka.consumer({ groupId: this.options.groupId, readUncommitted: false });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, () => (this.joined = true));
    crashWithConsumer(consumer, this.options.onCrash, this.logger);
    await consumer.connect();
    await consumer.subscribe({ topic: this.options.topic, fromBeginning: false });
    await consumer.run({
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset }) => {
        // NOTE: judged by the transaction markers, not kafkajs's read_committed filter, which can
        // hand over an aborted outcome after a reducer crash (see committedMessages).
        const { messages, complete, resumeAt } = committedMessages(batch);
        const pipeline = this.redis.pipeline();
        const arrived: TrackedOutcome[] = [];
        for (const message of messages) {
          try {
            const decoded = await this.serde.decode(message.value, TOPICS.shipmentOutcomes);
            if (decoded.recordName !== 'CommandOutcome') continue;
            const tracked = { outcome: decoded.value, position: { topic: batch.topic, partition: batch.partition, offset: message.offset } };
            pipeline.set(this.outcomeKey(decoded.value.commandId), JSON.stringify(tracked), 'EX', this.options.ttlSeconds);
            arrived.push(tracked);
          } catch (err) {
            this.logger.warn({ err, partition: batch.partition, offset: message.offset }, 'skipping an outcome that does not decode');
          }
        }
        if (arrived.length) await pipeline.exec();
        for (const tracked of arrived) this.settle(tracked);
        if (complete) resolveOffset(batch.lastOffset());
        else consumer.seek({ topic: batch.topic, partition: batch.partition, offset: resumeAt ?? batch.firstOffset() ?? '0' });
      },
    });
    // The group is new on every start, so it would begin at the end and never store the outcomes
    // that arrived while this instance was down: a client polling a command sent before a
    // restart would wait forever. Read the recent past again (storing an outcome twice is harmless).
    await rewindToTime(this.kafka, consumer, this.options.topic, Date.now() - this.options.replayMs);
    const deadline = Date.now() + 30_000;
    while (!this.joined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    // The group is this instance's alone: remove it so restarts do not leave groups behind.
    const admin = this.kafka.admin();
    await admin.connect();
    await admin.deleteGroups([this.options.groupId]).catch(() => undefined);
    await admin.disconnect();
  }

  /** The outcome if it already arrived (here or on another instance). */
  async find(commandId: string): Promise<TrackedOutcome | undefined> {
    const stored = await this.redis.get(this.outcomeKey(commandId));
    return stored ? (JSON.parse(stored) as TrackedOutcome) : undefined;
  }

  /**
   * Registers interest before the command is produced (so a fast answer is never missed) and
   * returns a function that waits up to `timeoutMs` for it.
   */
  expect(commandId: string): (timeoutMs: number) => Promise<TrackedOutcome | undefined> {
    let resolveOutcome!: (tracked: TrackedOutcome) => void;
    const arrived = new Promise<TrackedOutcome>((resolve) => (resolveOutcome = resolve));
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

  private settle(tracked: TrackedOutcome): void {
    for (const resolve of this.waiters.get(tracked.outcome.commandId) ?? []) resolve(tracked);
  }
}
