import type { Kafka } from 'kafkajs';
import { Counter } from 'prom-client';
import { TOPICS, type Serde } from '@waybill/contracts';
import { archiveClosedBefore, archiveTransactionsBefore, toLedgerInput, type ArchivedEventSource, type LedgerInput, type LedgerTopic } from '@waybill/ledger-projections';
import { RecordsAtPositions } from '@waybill/streams';
import { PeriodicPass, type AppMetrics, type Logger, type RedisClient } from '@waybill/platform';

/**
 * Reads archived records (shipment events, accounting transactions) back from their topic by
 * their recorded positions, decoded exactly as the projection decoded them.
 */
export class KafkaArchivedEvents implements ArchivedEventSource {
  private readonly records: RecordsAtPositions;

  constructor(
    kafka: Kafka,
    private readonly topicPrefix: string,
    private readonly serde: Serde,
  ) {
    this.records = new RecordsAtPositions(kafka);
  }

  async load(positions: ReadonlyArray<{ partition: number; offset: string }>, topic: LedgerTopic = TOPICS.shipmentEvents): Promise<LedgerInput[]> {
    const inputs: LedgerInput[] = [];
    // In the order given (version order), wherever each record was.
    for (const record of await this.records.read(this.topicPrefix + topic, positions)) {
      if (!record) continue;
      const input = toLedgerInput(topic, record.partition, record.offset, await this.serde.decode(record.value, topic), record.timestamp);
      if (input) inputs.push(input);
    }
    return inputs;
  }

  stop(): Promise<void> {
    return this.records.stop();
  }
}

export interface RetentionOptions {
  redis: RedisClient;
  keyPrefix: string;
  /** How long a closed shipment keeps its events in Redis; 0 keeps them for ever. */
  retentionMs: number;
  intervalMs: number;
  /** The shipment.events partitions this instance owns now: each partition is pruned by its owner. */
  ownedPartitions: () => number[];
  /** The accounting.transactions partitions this instance owns now, whose transactions it archives. */
  ownedTransactionPartitions: () => number[];
  logger: Logger;
  metrics: AppMetrics;
  now?: () => number;
}

/**
 * Archives the shipments that have been closed for longer than the retention window, partition by
 * partition, on the instance that owns each partition. Each archive is one script on the
 * partition's hash slot that lands only if the shipment did not change meanwhile.
 */
export class RetentionPruner {
  private readonly passes: PeriodicPass;
  private readonly archived: Counter<'outcome'>;
  private readonly archivedTransactions: Counter;

  constructor(private readonly options: RetentionOptions) {
    this.archived = new Counter({
      name: 'waybill_ledger_archived_shipments_total',
      help: 'Closed shipments whose events the retention window moved out of Redis (conflict: changed meanwhile, tried again later)',
      labelNames: ['outcome'],
      registers: [options.metrics.registry],
    });
    this.archivedTransactions = new Counter({
      name: 'waybill_ledger_archived_transactions_total',
      help: 'Accounting transactions the retention window moved out of Redis (their accounts keep an archive entry each)',
      registers: [options.metrics.registry],
    });
    this.passes = new PeriodicPass('retention pass', options.intervalMs, () => this.runOnce(), options.logger);
  }

  start(): void {
    if (this.options.retentionMs > 0) this.passes.start();
  }

  /** One pass over every owned partition; returns how many shipments and transactions it archived. */
  async runOnce(): Promise<{ shipments: number; transactions: number }> {
    const { redis, keyPrefix, retentionMs, logger } = this.options;
    const cutoff = (this.options.now ?? Date.now)() - retentionMs;
    const stopped = () => this.passes.stopped;
    const total = { shipments: 0, transactions: 0 };
    for (const partition of this.options.ownedPartitions()) {
      if (stopped()) break;
      const started = Date.now();
      const result = await archiveClosedBefore(redis, keyPrefix, partition, cutoff, { stopped, onOutcome: (outcome) => this.archived.inc({ outcome }) });
      if (result.archived + result.conflicts > 0) {
        logger.info({ partition, ...result, cutoff: new Date(cutoff).toISOString(), ms: Date.now() - started }, 'archived closed shipments past the retention window');
      }
      total.shipments += result.archived;
    }
    for (const partition of this.options.ownedTransactionPartitions()) {
      if (stopped()) break;
      const started = Date.now();
      const result = await archiveTransactionsBefore(redis, keyPrefix, partition, cutoff, { stopped });
      this.archivedTransactions.inc(result.archived);
      if (result.archived + result.conflicts > 0) {
        logger.info({ partition, ...result, cutoff: new Date(cutoff).toISOString(), ms: Date.now() - started }, 'archived accounting transactions past the retention window');
      }
      total.transactions += result.archived;
    }
    return total;
  }

  stop(): Promise<void> {
    return this.passes.stop();
  }
}
