import type Redis from 'ioredis';
import { writeProjection } from '@waybill/streams';
import type { LedgerInput, OutcomeDoc } from './documents';
import { ProjectionConflictError } from './errors';
import { ledgerKeys } from './keys';
import { keysToRead, planBatch, type BatchPlan, type OffsetMark, type ProjectionOptions } from './project';

/** What `applyBatch` did. */
export interface BatchResult {
  applied: number;
  duplicates: number;
  /** Outcomes with `alert: true` this batch stored for the first time. */
  alerts: OutcomeDoc[];
  warnings: string[];
  /** How many times the plan was recomputed because another writer got there first. */
  retries: number;
}

/**
 * Plans `inputs` (in order) against what Redis holds now: reads every key `keysToRead` names in
 * one MGET, then `planBatch`. The plan's `expect` is what it was computed from, so its write lands
 * only if none of that changed meanwhile.
 */
export async function planAgainstRedis(redis: Redis, keyPrefix: string, inputs: readonly LedgerInput[], options: ProjectionOptions & { marks?: readonly OffsetMark[] } = {}): Promise<BatchPlan> {
  const keys = ledgerKeys(keyPrefix);
  const readKeys = [...new Set(inputs.flatMap((input) => keysToRead(keys, input)))];
  const values = readKeys.length ? await redis.mget(...readKeys) : [];
  return planBatch(keyPrefix, new Map(readKeys.map((key, i) => [key, values[i] ?? null])), inputs, options);
}

/**
 * Projects `inputs` (in order) into Redis under `keyPrefix` in one atomic script, with the offsets
 * they reflect (`ledger:offsets`), planning again when another writer changed a value the plan read
 * (its changes make the replayed records duplicates). Idempotent: applying the same records again
 * changes nothing. The ledger app writes through libs/streams' ProjectionLoop, which also moves the
 * partition's offset by compare-and-set; `waybill rebuild` writes through this.
 */
export async function applyBatch(
  redis: Redis,
  keyPrefix: string,
  inputs: readonly LedgerInput[],
  options: ProjectionOptions & { marks?: readonly OffsetMark[]; maxAttempts?: number } = {},
): Promise<BatchResult> {
  const maxAttempts = options.maxAttempts ?? 5;
  for (let attempt = 1; ; attempt += 1) {
    const plan = await planAgainstRedis(redis, keyPrefix, inputs, options);
    const result = { applied: plan.applied, duplicates: plan.duplicates, alerts: plan.alerts, warnings: plan.warnings, retries: attempt - 1 };
    if (plan.writes.length === 0) return { ...result, applied: 0, alerts: [] };
    if ((await writeProjection(redis, plan)) === 'written') return result;
    if (attempt >= maxAttempts) throw new ProjectionConflictError(attempt, { keyPrefix });
  }
}
