import { z } from 'zod';
import { baseConfigShape } from '@waybill/platform';
import { projectionConfigShape } from '@waybill/streams';
import { DEFAULT_RETENTION_DAYS } from '@waybill/ledger-projections';

/** ledger's environment; `docker-compose.yml` is checked against this schema. */
export const configSchema = z.object({
  ...baseConfigShape,
  PORT: baseConfigShape.PORT.default(3003),
  /** Keep a state snapshot every N events of a shipment, for `asOf` reads. A rebuild must use the same N. */
  SNAPSHOT_EVERY: z.coerce.number().int().min(1).max(1_000_000).default(100),
  /** How long a read with `waitFor` waits for the projection to pass that offset before answering 504. */
  WAIT_FOR_TIMEOUT_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
  /** How often the operations view (`/admin/ops/`) describes the consumer groups, to observe rebalances. */
  OPS_POLL_MS: z.coerce.number().int().min(200).max(60_000).default(2_000),
  /**
   * How long a closed (Delivered or Cancelled) shipment keeps its events, feed and trace entries and
   * outcomes in Redis, in days (fractions allowed); then they are archived and its history is read
   * from Kafka by their positions. 0 keeps everything in Redis. A rebuild must use the same window.
   */
  LEDGER_RETENTION_DAYS: z.coerce.number().min(0).max(36_500).default(DEFAULT_RETENTION_DAYS),
  /** How often the owner of each partition looks for shipments past the retention window. */
  LEDGER_PRUNE_INTERVAL_MS: z.coerce.number().int().min(100).max(86_400_000).default(60_000),
  ...projectionConfigShape({ maxBatchSize: 200, maxBatchLimit: 5_000 }),
});

export type Config = z.infer<typeof configSchema>;
