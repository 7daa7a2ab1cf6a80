import type { Kafka } from 'kafkajs';
import { Counter } from 'prom-client';
import { TOPICS, type Serde } from '@waybill/contracts';
import { archiveClosedBefore, toLedgerInput, type ArchivedEventSource, type LedgerInput } from '@waybill/ledger-projections';
import { KafkaWire } from '@waybill/streams';
import type { AppMetrics, Logger, RedisClient } from '@waybill/platform';

/**
 * Reads archived shipment events back from shipment.events by their recorded positions, decoded
 * exactly as the projection decoded them.
 */
export class KafkaArchivedEvents implements ArchivedEventSource {
  private readonly wire: KafkaWire;
  private connecting?: Promise<void>;

  constructor(
    kafka: Kafka,
    private readonly topicPrefix: string,
    private readonly serde: Serde,
  ) {
    this.wire = new KafkaWire(kafka);
  }

  async load(positions: ReadonlyArray<{ partition: number; offset: string }>): Promise<LedgerInput[]> {
    await (this.connecting ??= this.wire.connect().catch((error: unknown) => {
      this.connecting = undefined;
      throw error;
    }));
    const byPartition = new Map<number, bigint[]>();
    for (const { partition, offset } of positions) byPartition.set(partition, [...(byPartition.get(partition) ?? []), BigInt(offset)]);
    const found = new Map<string, LedgerInput>();
    const topic = TOPICS.shipmentEvents;
    for (const [partition, offsets] of byPartition) {
      for (const record of await this.wire.readAt(this.topicPrefix + topic, partition, offsets)) {
        const input = toLedgerInput(topic, partition, record.offset, await this.serde.decode(record.value, topic), record.timestamp);
        if (input) found.set(`${partition}:${record.offset}`, input);
      }
    }
    // In the order given (version order), wherever each record was.
    return positions.flatMap(({ partition, offset }) => found.get(`${partition}:${offset}`) ?? []);
  }

  async stop(): Promise<void> {
    if (this.connecting) await this.wire.disconnect();
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
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private stopped = false;
  private readonly archived: Counter<'outcome'>;

  constructor(private readonly options: RetentionOptions) {
    this.archived = new Counter({
      name: 'waybill_ledger_archived_shipments_total',
      help: 'Closed shipments whose events the retention window moved out of Redis (conflict: changed meanwhile, tried again later)',
      labelNames: ['outcome'],
      registers: [options.metrics.registry],
    });
  }

  start(): void {
    if (this.options.retentionMs <= 0) return;
    const tick = () => {
      this.running = this.runOnce()
        .catch((err: unknown) => this.options.logger.warn({ err }, 'retention pass failed; the next one tries again'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.options.intervalMs);
        });
    };
    this.timer = setTimeout(tick, this.options.intervalMs);
  }

  /** One pass over every owned partition; returns how many shipments it archived. */
  async runOnce(): Promise<number> {
    const { redis, keyPrefix, retentionMs, logger } = this.options;
    const cutoff = (this.options.now ?? Date.now)() - retentionMs;
    let total = 0;
    for (const partition of this.options.ownedPartitions()) {
      if (this.stopped) break;
      const started = Date.now();
      const result = await archiveClosedBefore(redis, keyPrefix, partition, cutoff, { stopped: () => this.stopped, onOutcome: (outcome) => this.archived.inc({ outcome }) });
      if (result.archived + result.conflicts > 0) {
        logger.info({ partition, ...result, cutoff: new Date(cutoff).toISOString(), ms: Date.now() - started }, 'archived closed shipments past the retention window');
      }
      total += result.archived;
    }
    return total;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
