import type { Consumer, Kafka } from 'kafkajs';
import type Redis from 'ioredis';
import { TOPICS, type AccountingCommandOutcome, type Serde, type TransactionRecorded } from '@waybill/contracts';
import { crashWithConsumer, rewindToTime, type Logger } from '@waybill/platform';
import { committedMessages } from '@waybill/streams';
import { outcomeKey, type Position } from '@waybill/account-balances';

/** The answer to one accounting command; `position` and `version` only when it was Recorded. */
export interface TrackedOutcome {
  outcome: AccountingCommandOutcome;
  position?: Position;
  version?: number;
}

const POLL_MS = 50;

/**
 * Where a request learns what became of its command. There is no outcomes topic for accounting,
 * so the answer comes two ways, both ending in the Redis key `accounting:outcome:<commandId>`:
 * - Recorded: this tracker follows `accounting.transactions` (read_committed, every partition, its
 *   own group per instance, from the end) and stores the answer of every transaction a request
 *   caused (`sourceEventId` null: shipment charges have nobody waiting). Seen only after the
 *   command listener's Kafka commit, with the record's position.
 * - Rejected / Duplicate: written by accounting-command-listener; waiters poll for them.
 */
export class OutcomeTracker {
  private readonly waiters = new Map<string, Set<(tracked: TrackedOutcome) => void>>();
  private consumer?: Consumer;
  private joined = false;
  private poller?: NodeJS.Timeout;

  constructor(
    private readonly kafka: Kafka,
    private readonly redis: Redis,
    private readonly serde: Serde,
    private readonly options: { topic: string; groupId: string; topicPrefix: string; ttlSeconds: number; replayMs: number; onCrash: (err: Error) => void },
    private readonly logger: Logger,
  ) {}

  get ready(): boolean {
    return this.joined;
  }

  async start(): Promise<void> {
    const consumer = this.kafka.consumer({ groupId: this.options.groupId, readUncommitted: false, maxWaitTimeInMs: 100 });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, () => (this.joined = true));
    crashWithConsumer(consumer, this.options.onCrash, this.logger);
    await consumer.connect();
    await consumer.subscribe({ topic: this.options.topic, fromBeginning: false });
    await consumer.run({
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset }) => {
        // NOTE: judged by the transaction markers, not kafkajs's read_committed filter (see committedMessages).
        const { messages, complete, resumeAt } = committedMessages(batch);
        const pipeline = this.redis.pipeline();
        const arrived: TrackedOutcome[] = [];
        for (const message of messages) {
          try {
            const decoded = await this.serde.decode(message.value, TOPICS.accountingTransactions);
            const event = decoded.value as TransactionRecorded;
            if (event.data.sourceEventId !== null) continue;
            const tracked: TrackedOutcome = {
              outcome: {
                commandId: event.causationId,
                transactionId: event.data.transactionId,
                accountId: event.aggregateId,
                status: 'Recorded',
                reason: null,
                traceId: event.traceId,
                timestamp: event.timestamp,
              },
              position: { topic: batch.topic, partition: batch.partition, offset: message.offset },
              version: event.version,
            };
            pipeline.set(outcomeKey(this.options.topicPrefix, event.causationId), JSON.stringify(tracked), 'EX', this.options.ttlSeconds);
            arrived.push(tracked);
          } catch (err) {
            this.logger.warn({ err, partition: batch.partition, offset: message.offset }, 'skipping a transaction that does not decode');
          }
        }
        if (arrived.length) await pipeline.exec();
        for (const tracked of arrived) this.settle(tracked);
        if (complete) resolveOffset(batch.lastOffset());
        else consumer.seek({ topic: batch.topic, partition: batch.partition, offset: resumeAt ?? batch.firstOffset() ?? '0' });
      },
    });
    // The group is new on every start, so it would begin at the end and never store the answers
    // that arrived while this instance was down: a client polling a payment sent before a restart
    // would wait forever. Read the recent past again (storing an answer twice is harmless).
    await rewindToTime(this.kafka, consumer, this.options.topic, Date.now() - this.options.replayMs);
    const deadline = Date.now() + 30_000;
    while (!this.joined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    this.poller = setInterval(() => void this.poll(), POLL_MS);
  }

  async stop(): Promise<void> {
    clearInterval(this.poller);
    await this.consumer?.disconnect();
    // The group is this instance's alone: remove it so restarts do not leave groups behind.
    const admin = this.kafka.admin();
    await admin.connect();
    await admin.deleteGroups([this.options.groupId]).catch(() => undefined);
    await admin.disconnect();
  }

  /** The answer if it already arrived (here, on another instance, or from the command listener). */
  async find(commandId: string): Promise<TrackedOutcome | undefined> {
    const stored = await this.redis.get(outcomeKey(this.options.topicPrefix, commandId));
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

  /** One MGET for every command someone is waiting on: answers the command listener wrote. */
  private async poll(): Promise<void> {
    const ids = [...this.waiters.keys()];
    if (ids.length === 0) return;
    try {
      const texts = await this.redis.mget(...ids.map((id) => outcomeKey(this.options.topicPrefix, id)));
      texts.forEach((text) => text && this.settle(JSON.parse(text) as TrackedOutcome));
    } catch (err) {
      this.logger.debug({ err }, 'polling for answers failed; trying again');
    }
  }

  private settle(tracked: TrackedOutcome): void {
    for (const resolve of this.waiters.get(tracked.outcome.commandId) ?? []) resolve(tracked);
  }
}
