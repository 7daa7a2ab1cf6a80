import { writeProjection } from '@waybill/streams';
import type { LedgerInput, OutcomeDoc } from './documents';
import { ProjectionConflictError } from './errors';
import { keysToRead, planBatch, type BatchPlan, type OffsetMark, type ProjectionOptions } from './project';
import type { RedisClient } from '@waybill/platform';

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
export async function planAgainstRedis(redis: RedisClient, keyPrefix: string, inputs: readonly LedgerInput[], options: ProjectionOptions & { marks?: readonly OffsetMark[] } = {}): Promise<BatchPlan> {
  const readKeys = [...new Set(inputs.flatMap((input) => keysToRead(keyPrefix, input)))];
  const values = readKeys.length ? await redis.mget(...readKeys) : [];
  return planBatch(keyPrefix, new Map(readKeys.map((key, i) => [key, values[i] ?? null])), inputs, options);
}

/**
 * Projects `inputs` (in order) into Redis under `keyPrefix`, one atomic script per partition (its
 * keys share one hash slot) with the offsets they reflect, planning again when another writer
 * changed a value the plan read (its changes make the replayed records duplicates). Idempotent:
 * applying the same records again changes nothing. The ledger app writes through libs/streams'
 * ProjectionLoop, which also moves the partition's offset by compare-and-set; tests and tools write
 * through this.
 */
export async function applyBatch(
  redis: RedisClient,
  keyPrefix: string,
  inputs: readonly LedgerInput[],
  options: ProjectionOptions & { marks?: readonly OffsetMark[]; maxAttempts?: number } = {},
): Promise<BatchResult> {
  const partitions = new Set([...inputs.map((input) => input.position.partition), ...(options.marks ?? []).map((mark) => mark.partition)]);
  const total: BatchResult = { applied: 0, duplicates: 0, alerts: [], warnings: [], retries: 0 };
  for (const partition of [...partitions].sort((a, b) => a - b)) {
    const marks = options.marks?.filter((mark) => mark.partition === partition);
    const one = await applyPartition(redis, keyPrefix, inputs.filter((input) => input.position.partition === partition), { ...options, marks });
    total.applied += one.applied;
    total.duplicates += one.duplicates;
    total.alerts.push(...one.alerts);
    total.warnings.push(...one.warnings);
    total.retries += one.retries;
  }
  return total;
}

async function applyPartition(
  redis: RedisClient,
  keyPrefix: string,
  inputs: readonly LedgerInput[],
  options: ProjectionOptions & { marks?: readonly OffsetMark[]; maxAttempts?: number },
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
