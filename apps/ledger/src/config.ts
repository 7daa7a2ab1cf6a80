import { z } from 'zod';
import { baseConfigShape } from '@waybill/platform';

/** ledger's environment; `docker-compose.yml` is checked against this schema. */
export const configSchema = z.object({
  ...baseConfigShape,
  PORT: baseConfigShape.PORT.default(3003),
  /** Keep a state snapshot every N events of a shipment, for `asOf` reads. A rebuild must use the same N. */
  SNAPSHOT_EVERY: z.coerce.number().int().min(1).max(1_000_000).default(100),
  /** How long a read with `waitFor` waits for the projection to pass that offset before answering 504. */
  WAIT_FOR_TIMEOUT_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
  /** Records per atomic Redis write. */
  MAX_BATCH_SIZE: z.coerce.number().int().min(1).max(5_000).default(200),
  PARTITIONS_CONCURRENTLY: z.coerce.number().int().min(1).max(64).default(4),
  /** Consumer session timeout: how long a crashed ledger keeps its partitions from a new one. */
  SESSION_TIMEOUT_MS: z.coerce.number().int().min(6_000).default(30_000),
  /** How often the stored offsets are compared with what this instance wrote (a Redis that lost them is noticed without traffic). */
  OFFSETS_WATCH_INTERVAL_MS: z.coerce.number().int().min(100).max(60_000).default(2_000),
});

export type Config = z.infer<typeof configSchema>;
