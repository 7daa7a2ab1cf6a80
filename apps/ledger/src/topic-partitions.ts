import type { Kafka } from 'kafkajs';
import type { LedgerTopic } from '@waybill/ledger-projections';
import type { Logger } from '@waybill/platform';

/**
 * How many partitions each topic the ledger reads has, from the cluster's metadata: read at start
 * and every `refreshMs` after (partitions can be added, never removed), so a `waitFor` on a
 * partition that does not exist is refused at once instead of waiting for its timeout.
 */
export class TopicPartitions {
  private readonly counts = new Map<LedgerTopic, number>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly kafka: Kafka,
    private readonly topicPrefix: string,
    private readonly topics: readonly LedgerTopic[],
    private readonly logger: Logger,
    private readonly refreshMs = 60_000,
  ) {}

  count(topic: LedgerTopic): number | undefined {
    return this.counts.get(topic);
  }

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async refresh(): Promise<void> {
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      const { topics } = await admin.fetchTopicMetadata({ topics: this.topics.map((t) => this.topicPrefix + t) });
      for (const { name, partitions } of topics) this.counts.set(name.slice(this.topicPrefix.length) as LedgerTopic, partitions.length);
    } catch (err) {
      // Unknown counts only mean waitFor is not checked for them until the next refresh.
      this.logger.warn({ err }, 'could not read the partition counts of the ledger topics');
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }
}
