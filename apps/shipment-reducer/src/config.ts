import { z } from 'zod';
import { baseConfigShape } from '@waybill/platform';
import { processorConfigShape } from '@waybill/streams';

/** shipment-reducer's environment; `docker-compose.yml` is checked against this schema. */
export const configSchema = z.object({
  ...baseConfigShape,
  PORT: baseConfigShape.PORT.default(3002),
  ...processorConfigShape({ partitionsConcurrently: 12 }),
  /**
   * Consumers of the reducer's group in this process (libs/streams `members`): kafkajs fetches
   * again only when every batch of a fetch is done, so more consumers means a command waits for
   * fewer partitions' transactions. bench/README.md "Where the time goes".
   */
  REDUCER_CONSUMERS: z.coerce.number().int().min(1).max(12).default(1),
});

export type Config = z.infer<typeof configSchema>;
