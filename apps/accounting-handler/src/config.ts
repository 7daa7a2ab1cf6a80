import { z } from 'zod';
import { handlerConfigShape } from '@waybill/command-gateway';

/** accounting-handler's environment; `docker-compose.yml` is checked against this schema. */
export const configSchema = z.object({
  ...handlerConfigShape({ port: 3005, bodyLimit: '64kb' }),
  /** account-reducer's balance API: balance reads are passed on to it, and a Recorded answer's balance comes from it. */
  ACCOUNT_REDUCER_URL: z.string().url().default('http://127.0.0.1:3007'),
});

export type Config = z.infer<typeof configSchema>;
