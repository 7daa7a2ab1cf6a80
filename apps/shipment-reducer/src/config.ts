import { z } from 'zod';
import { baseConfigShape } from '@waybill/platform';

/** shipment-reducer's environment; `docker-compose.yml` is checked against this schema. */
export const configSchema = z.object({
  ...baseConfigShape,
  PORT: baseConfigShape.PORT.default(3002),
  /** Records per Kafka transaction. */
  MAX_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(500),
  /** Partitions decided at once (each strictly in order). */
  PARTITIONS_CONCURRENTLY: z.coerce.number().int().min(1).max(64).default(12),
  /**
   * Consumers of the reducer's group in this process (libs/streams `members`): kafkajs fetches
   * again only when every batch of a fetch is done, so more consumers means a command waits for
   * fewer partitions' transactions. bench/README.md "Where the time goes".
   */
  REDUCER_CONSUMERS: z.coerce.number().int().min(1).max(12).default(1),
  SESSION_TIMEOUT_MS: z.coerce.number().int().min(6_000).default(30_000),
});

export type Config = z.infer<typeof configSchema>;
