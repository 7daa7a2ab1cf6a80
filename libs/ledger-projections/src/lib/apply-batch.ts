import type Redis from 'ioredis';
import type { LedgerInput, OutcomeDoc } from './documents';
import { ProjectionConflictError, ReflectedOffsetLostError } from './errors';
import { ledgerKeys } from './keys';
import { keysToRead, planBatch, type OffsetMark, type ProjectionOptions } from './project';
import type { Write } from './writes';

// One script applies a whole plan: first every precondition (the values the plan was computed
// from are still there), then every write, so a batch, its idempotency guard and its offsets land
// together or not at all. Ops are validated before the first write because Redis does not roll a
// script back when it fails halfway.
const APPLY_SCRIPT = `
local req = cjson.decode(ARGV[1])
if req.guard then
  local g = req.guard
  local v = redis.call('HGET', KEYS[g[1]], g[2])
  if v then
    if tonumber(v) < tonumber(g[3]) then return 2 end
  elseif not g[4] then
    return 2
  end
end
for _, c in ipairs(req.expect) do
  local v = redis.call('GET', KEYS[c[1]])
  if c[2] == cjson.null then
    if v then return 0 end
  elseif v ~= c[2] then
    return 0
  end
end
local known = { set = true, zadd = true, zrem = true, hincrby = true, hset = true, hmax = true }
for _, w in ipairs(req.writes) do
  if not known[w[1]] then return redis.error_reply('ledger: unknown write op ' .. tostring(w[1])) end
end
for _, w in ipairs(req.writes) do
  local op, k = w[1], KEYS[w[2]]
  if op == 'set' then redis.call('SET', k, w[3])
  elseif op == 'zadd' then redis.call('ZADD', k, w[3], w[4])
  elseif op == 'zrem' then redis.call('ZREM', k, w[3])
  elseif op == 'hincrby' then redis.call('HINCRBY', k, w[3], w[4])
  elseif op == 'hset' then redis.call('HSET', k, w[3], w[4])
  elseif op == 'hmax' then
    local cur = redis.call('HGET', k, w[3])
    if (not cur) or tonumber(cur) < tonumber(w[4]) then redis.call('HSET', k, w[3], w[4]) end
  end
end
return 1
`;

function encode(expect: Array<[string, string | null]>, writes: readonly Write[], guard: ContinuityGuard | undefined, offsetsKey: string): { keys: string[]; arg: string } {
  const keys: string[] = [];
  const index = new Map<string, number>();
  const ix = (key: string) => {
    let i = index.get(key);
    if (i === undefined) {
      keys.push(key);
      index.set(key, (i = keys.length));
    }
    return i;
  };
  // Numbers travel as strings: cjson would round scores and counts to 14 significant digits.
  const ops = writes.map((w) => {
    switch (w.op) {
      case 'set':
        return [w.op, ix(w.key), w.value];
      case 'zadd':
        return [w.op, ix(w.key), String(w.score), w.member];
      case 'zrem':
        return [w.op, ix(w.key), w.member];
      case 'hincrby':
        return [w.op, ix(w.key), w.field, String(w.by)];
      case 'hset':
      case 'hmax':
        return [w.op, ix(w.key), w.field, w.value];
    }
  });
  const checks = expect.map(([key, value]) => [ix(key), value]);
  const guarded = guard ? [ix(offsetsKey), guard.field, guard.reflectedAtLeast, guard.allowMissing] : undefined;
  return { keys, arg: JSON.stringify({ expect: checks, writes: ops, guard: guarded }) };
}

/**
 * What the writer believes Redis holds for one partition: its offsets field reflects at least
 * `reflectedAtLeast` (where this batch was fetched from), or the field may be missing only when
 * the batch starts at the partition's first offset. Checked inside the write, so a Redis that
 * restarted empty between batches cannot receive a batch on top of nothing.
 */
export interface ContinuityGuard {
  field: string;
  reflectedAtLeast: string;
  allowMissing: boolean;
}

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
 * Projects `inputs` (in order) into Redis under `keyPrefix` in one atomic script, with the offsets
 * they reflect (`ledger:offsets`). Reads the current values, plans with `planBatch`, and writes only
 * if none of them changed meanwhile; otherwise plans again (a concurrent writer's changes make the
 * replayed records duplicates). Idempotent: applying the same records again changes nothing.
 */
export async function applyBatch(
  redis: Redis,
  keyPrefix: string,
  inputs: readonly LedgerInput[],
  options: ProjectionOptions & { marks?: readonly OffsetMark[]; maxAttempts?: number; guard?: ContinuityGuard } = {},
): Promise<BatchResult> {
  const keys = ledgerKeys(keyPrefix);
  const readKeys = [...new Set(inputs.flatMap((input) => keysToRead(keys, input)))];
  const maxAttempts = options.maxAttempts ?? 5;
  for (let attempt = 1; ; attempt += 1) {
    const values = readKeys.length ? await redis.mget(...readKeys) : [];
    const plan = planBatch(keyPrefix, new Map(readKeys.map((key, i) => [key, values[i] ?? null])), inputs, options);
    if (plan.writes.length === 0) return { applied: 0, duplicates: plan.duplicates, alerts: [], warnings: plan.warnings, retries: attempt - 1 };
    const { keys: scriptKeys, arg } = encode(plan.expect, plan.writes, options.guard, keys.offsets);
    const ok = await redis.eval(APPLY_SCRIPT, scriptKeys.length, ...scriptKeys, arg);
    if (ok === 2) throw new ReflectedOffsetLostError(options.guard!.field, { keyPrefix });
    if (ok === 1) return { applied: plan.applied, duplicates: plan.duplicates, alerts: plan.alerts, warnings: plan.warnings, retries: attempt - 1 };
    if (attempt >= maxAttempts) throw new ProjectionConflictError(attempt, { keyPrefix });
  }
}
