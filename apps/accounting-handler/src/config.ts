import { z } from 'zod';
import { baseConfigShape } from '@waybill/platform';

/** accounting-handler's environment; `docker-compose.yml` is checked against this schema. */
export const configSchema = z.object({
  ...baseConfigShape,
  PORT: baseConfigShape.PORT.default(3005),
  /** How long a request waits for its command's answer (and the balance that includes it) before answering 202. */
  OUTCOME_WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(2_000),
  /** How long an Idempotency-Key (and a command's answer) is remembered. */
  IDEMPOTENCY_TTL_SECONDS: z.coerce.number().int().positive().default(86_400),
  BODY_LIMIT: z.string().default('64kb'),
  /** account-reducer's balance API: balance reads are passed on to it, and a Recorded answer's balance comes from it. */
  ACCOUNT_REDUCER_URL: z.string().url().default('http://127.0.0.1:3007'),
});

export type Config = z.infer<typeof configSchema>;
