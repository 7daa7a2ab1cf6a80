import { z } from 'zod';
import { baseConfigShape } from '@waybill/platform';
import { projectionConfigShape } from '@waybill/streams';
import { DEFAULT_HISTORY_RETENTION_DAYS } from './history-window';

/** account-reducer's environment; `docker-compose.yml` is checked against this schema. */
export const configSchema = z.object({
  ...baseConfigShape,
  PORT: baseConfigShape.PORT.default(3007),
  ...projectionConfigShape({ maxBatchSize: 1_000, maxBatchLimit: 10_000 }),
  /** How long a read with `readToken` waits for the account to reach that version before a 504. */
  WAIT_FOR_TIMEOUT_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
  /** How long a transaction keeps its whole entry in an account's list; older ones keep a compact entry and are read back from Kafka. 0 keeps them all. */
  HISTORY_RETENTION_DAYS: z.coerce.number().min(0).max(36_500).default(DEFAULT_HISTORY_RETENTION_DAYS),
  /** How often the window's pass runs. */
  HISTORY_PRUNE_INTERVAL_MS: z.coerce.number().int().min(100).max(86_400_000).default(60_000),
});

export type Config = z.infer<typeof configSchema>;
