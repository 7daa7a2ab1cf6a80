import type { Kafka } from 'kafkajs';
import { retry, type Logger } from '@waybill/platform';

/**
 * How many partitions each of some topics has, from the cluster's metadata: read at start (retried
 * until Kafka answers) and every `refreshMs` after (partitions can be added, never removed). A
 * read model keeps each partition's keys in a hash slot of its own, so its readers look in every
 * partition of the topics it is projected from; a `waitFor` on a partition that does not exist is
 * refused at once instead of waiting for its timeout.
 */
export class TopicPartitions<T extends string = string> {
  private readonly counts = new Map<T, number>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly kafka: Kafka,
    private readonly topicPrefix: string,
    private readonly topics: readonly T[],
    private readonly logger: Logger,
    private readonly refreshMs = 60_000,
  ) {}

  count(topic: T): number | undefined {
    return this.counts.get(topic);
  }

  /** The partition numbers any of the topics has: 0 … (largest count − 1). */
  partitions(): number[] {
    return Array.from({ length: Math.max(0, ...this.counts.values()) }, (_, p) => p);
  }

  async start(): Promise<void> {
    await retry('reading the partition counts', this.logger, () => this.read());
    this.timer = setInterval(() => void this.refresh(), this.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async refresh(): Promise<void> {
    try {
      await this.read();
    } catch (err) {
      // The counts read before stay: partitions are never removed.
      this.logger.warn({ err }, 'could not read the partition counts; keeping the last ones');
    }
  }

  private async read(): Promise<void> {
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      const { topics } = await admin.fetchTopicMetadata({ topics: this.topics.map((t) => this.topicPrefix + t) });
      for (const { name, partitions } of topics) this.counts.set(name.slice(this.topicPrefix.length) as T, partitions.length);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }
}
