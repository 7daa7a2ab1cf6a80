import { z } from 'zod';
import { baseConfigShape } from '@waybill/platform';
import { projectionConfigShape } from '@waybill/streams';

/** account-reducer's environment; `docker-compose.yml` is checked against this schema. */
export const configSchema = z.object({
  ...baseConfigShape,
  PORT: baseConfigShape.PORT.default(3007),
  ...projectionConfigShape({ maxBatchSize: 1_000, maxBatchLimit: 10_000 }),
  /** How long a read with `readToken` waits for the account to reach that version before a 504. */
  WAIT_FOR_TIMEOUT_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
});

export type Config = z.infer<typeof configSchema>;
