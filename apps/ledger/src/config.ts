import { z } from 'zod';
import { baseConfigShape } from '@waybill/platform';
import { projectionConfigShape } from '@waybill/streams';

/** ledger's environment; `docker-compose.yml` is checked against this schema. */
export const configSchema = z.object({
  ...baseConfigShape,
  PORT: baseConfigShape.PORT.default(3003),
  /** Keep a state snapshot every N events of a shipment, for `asOf` reads. A rebuild must use the same N. */
  SNAPSHOT_EVERY: z.coerce.number().int().min(1).max(1_000_000).default(100),
  /** How long a read with `waitFor` waits for the projection to pass that offset before answering 504. */
  WAIT_FOR_TIMEOUT_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
  /** How often the operations view (`/admin/ops/`) describes the consumer groups, to observe rebalances. */
  OPS_POLL_MS: z.coerce.number().int().min(200).max(60_000).default(2_000),
  ...projectionConfigShape({ maxBatchSize: 200, maxBatchLimit: 5_000 }),
});

export type Config = z.infer<typeof configSchema>;
