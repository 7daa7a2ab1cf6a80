import { z } from 'zod';
import { baseConfigShape } from '@waybill/platform';

/** shipment-handler's environment; `docker-compose.yml` is checked against this schema. */
export const configSchema = z.object({
  ...baseConfigShape,
  PORT: baseConfigShape.PORT.default(3001),
  /** How long a request waits for its command's outcome before answering 202 with a URL to poll. */
  OUTCOME_WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(2_000),
  /** How long an Idempotency-Key (and a command's outcome) is remembered. */
  IDEMPOTENCY_TTL_SECONDS: z.coerce.number().int().positive().default(86_400),
  BODY_LIMIT: z.string().default('1mb'),
});

export type Config = z.infer<typeof configSchema>;
