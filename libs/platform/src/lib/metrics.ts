import { Registry, collectDefaultMetrics, Gauge, Counter, Histogram } from 'prom-client';

export interface AppMetrics {
  registry: Registry;
  consumerLag: Gauge<'topic' | 'partition' | 'group'>;
  messagesProcessed: Counter<'topic' | 'outcome'>;
  batchDuration: Histogram<'topic'>;
  /** Where a chunk's time goes: reading states, deciding, and each round trip of its transaction. */
  chunkPhaseDuration: Histogram<'topic' | 'phase'>;
  /**
   * Where a front door's command request goes: pending (the pending marker to Redis), produce (the
   * command to its topic, acknowledged), answer (acknowledged → its outcome in hand), delivery (the
   * outcome record's timestamp, set when it was decided, → the tracker has it), total (submit → answer).
   */
  requestPhaseDuration: Histogram<'phase'>;
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
    chunkPhaseDuration: new Histogram({
      name: 'waybill_chunk_phase_seconds',
      help: 'Time of each phase of one chunk: wait (its oldest record, from produced to picked up), read (states from Redis), decide, produce (the outputs), offsets (the consumed offset into the transaction), commit, store (states to Redis)',
      labelNames: ['topic', 'phase'],
      buckets: [0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096],
      registers: [registry],
    }),
    requestPhaseDuration: new Histogram({
      name: 'waybill_request_phase_seconds',
      help: 'Time of each hop of a command request at a front door: pending (marker to Redis), produce (command acknowledged), answer (acknowledged to outcome in hand), delivery (outcome decided to outcome in the tracker), total',
      labelNames: ['phase'],
      buckets: [0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048],
      registers: [registry],
    }),
  };
}
