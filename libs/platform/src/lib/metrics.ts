import { Registry, collectDefaultMetrics, Gauge, Counter, Histogram } from 'prom-client';

export interface AppMetrics {
  registry: Registry;
  consumerLag: Gauge<'topic' | 'partition' | 'group'>;
  messagesProcessed: Counter<'topic' | 'outcome'>;
  batchDuration: Histogram<'topic'>;
}

/** One registry per app, with process metrics and the consumer figures every consumer reports. */
export function createMetrics(app: string): AppMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ app });
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    consumerLag: new Gauge({
      name: 'waybill_consumer_lag',
      help: 'Messages between the committed position and the end of the partition',
      labelNames: ['topic', 'partition', 'group'],
      registers: [registry],
    }),
    messagesProcessed: new Counter({
      name: 'waybill_messages_processed_total',
      help: 'Messages consumed and handled, by outcome',
      labelNames: ['topic', 'outcome'],
      registers: [registry],
    }),
    batchDuration: new Histogram({
      name: 'waybill_batch_duration_seconds',
      help: 'Time to process one consumed batch, transaction included',
      labelNames: ['topic'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
  };
}
