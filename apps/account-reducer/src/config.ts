import { z } from 'zod';
import { baseConfigShape } from '@waybill/platform';

/** account-reducer's environment; `docker-compose.yml` is checked against this schema. */
export const configSchema = z.object({
  ...baseConfigShape,
  PORT: baseConfigShape.PORT.default(3007),
  /** Transactions per atomic Redis write. */
  MAX_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(1_000),
  /** Partitions folded at once (each strictly in order). */
  PARTITIONS_CONCURRENTLY: z.coerce.number().int().min(1).max(64).default(4),
  SESSION_TIMEOUT_MS: z.coerce.number().int().min(6_000).default(30_000),
  /** How often the stored offsets are compared with what this instance wrote (a Redis that lost them is noticed without traffic). */
  OFFSETS_WATCH_INTERVAL_MS: z.coerce.number().int().min(100).max(60_000).default(2_000),
  /** How long a read with `readToken` waits for the account to reach that version before a 504. */
  WAIT_FOR_TIMEOUT_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
});

export type Config = z.infer<typeof configSchema>;
