import { z } from 'zod';
import { baseConfigShape } from '@waybill/platform';
import { processorConfigShape } from '@waybill/streams';

/** accounting-listener's environment; `docker-compose.yml` is checked against this schema. */
export const configSchema = z.object({
  ...baseConfigShape,
  PORT: baseConfigShape.PORT.default(3004),
  ...processorConfigShape({ partitionsConcurrently: 4 }),
});

export type Config = z.infer<typeof configSchema>;
