import type { RedisClient } from '@waybill/platform';

/**
 * One change to a read model. Projections return these as data, so the same list can be applied
 * to Redis atomically (one Lua script) or to an in-memory keyspace (tests, dry runs, rebuilds).
 */
export type RedisWrite =
  | { op: 'set'; key: string; value: string }
  | { op: 'zadd'; key: string; score: number; member: string }
  /** Adds a member, or lowers its score, never raises it (ZADD LT): e.g. the time of the oldest entry an index still holds. */
  | { op: 'zmin'; key: string; score: number; member: string }
  | { op: 'zrem'; key: string; member: string }
  /** Deletes a key whatever its type (a retention window's pruning). */
  | { op: 'del'; key: string }
  | { op: 'hincrby'; key: string; field: string; by: number }
  | { op: 'hset'; key: string; field: string; value: string }
  /** Sets a numeric hash field only if the new value is larger: offsets never move back. */
  | { op: 'hmax'; key: string; field: string; value: string };

/** What a projection computed for some records: the writes, and the values they were computed from. */
export interface ProjectionPlan {
  /** Every key read, with the value the plan was computed from (null = absent): the write's precondition. */
  expect: ReadonlyArray<readonly [key: string, value: string | null]>;
  writes: readonly RedisWrite[];
}

/**
 * The offsets field a write moves: from exactly `expected` (null = the field must be absent) to
 * `next`. The compare-and-set makes one writer per partition: a second owner (a zombie during a
 * rebalance), a Redis that restarted empty or a rebuild that replaced the keys makes it fail
 * instead of counting anything twice or writing on top of nothing.
 */
export interface OffsetAdvance {
  offsetsKey: string;
  field: string;
  expected: string | null;
  next: string;
}

/** `written`; `conflict`: a value the plan read changed (plan again); `lost`: the offsets field is not what the writer expected. */
export type ProjectionWriteOutcome = 'written' | 'conflict' | 'lost';

// First every precondition (the offsets field, then the values the plan was computed from), then
// every write, then the offset: a chunk, its idempotency guard and its offset land together or
// not at all. Ops are validated before the first write because Redis does not roll a script back
// when it fails halfway.
const WRITE_SCRIPT = `
local req = cjson.decode(ARGV[1])
local adv = req.advance
if adv then
  local v = redis.call('HGET', KEYS[adv[1]], adv[2])
  if adv[3] == cjson.null then
    if v then return 2 end
  elseif v ~= adv[3] then
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
local known = { set = true, zadd = true, zmin = true, zrem = true, del = true, hincrby = true, hset = true, hmax = true }
for _, w in ipairs(req.writes) do
  if not known[w[1]] then return redis.error_reply('projection: unknown write op ' .. tostring(w[1])) end
end
for _, w in ipairs(req.writes) do
  local op, k = w[1], KEYS[w[2]]
  if op == 'set' then redis.call('SET', k, w[3])
  elseif op == 'zadd' then redis.call('ZADD', k, w[3], w[4])
  elseif op == 'zmin' then redis.call('ZADD', k, 'LT', w[3], w[4])
  elseif op == 'zrem' then redis.call('ZREM', k, w[3])
  elseif op == 'del' then redis.call('DEL', k)
  elseif op == 'hincrby' then redis.call('HINCRBY', k, w[3], w[4])
  elseif op == 'hset' then redis.call('HSET', k, w[3], w[4])
  elseif op == 'hmax' then
    local cur = redis.call('HGET', k, w[3])
    if (not cur) or tonumber(cur) < tonumber(w[4]) then redis.call('HSET', k, w[3], w[4]) end
  end
end
if adv then redis.call('HSET', KEYS[adv[1]], adv[2], adv[4]) end
return 1
`;

function encode(plan: ProjectionPlan, advance: OffsetAdvance | undefined): { keys: string[]; arg: string } {
  const keys: string[] = [];
  const index = new Map<string, number>();
  const ix = (key: string) => {
    let i = index.get(key);
    if (i === undefined) {
      keys.push(key);
      i = keys.length;
      index.set(key, i);
    }
    return i;
  };
  // Numbers travel as strings: cjson would round scores and counts to 14 significant digits.
  const writes = plan.writes.map((w) => {
    switch (w.op) {
      case 'set':
        return [w.op, ix(w.key), w.value];
      case 'zadd':
      case 'zmin':
        return [w.op, ix(w.key), String(w.score), w.member];
      case 'zrem':
        return [w.op, ix(w.key), w.member];
      case 'del':
        return [w.op, ix(w.key)];
      case 'hincrby':
        return [w.op, ix(w.key), w.field, String(w.by)];
      case 'hset':
      case 'hmax':
        return [w.op, ix(w.key), w.field, w.value];
    }
  });
  const expect = plan.expect.map(([key, value]) => [ix(key), value]);
  const guarded = advance ? [ix(advance.offsetsKey), advance.field, advance.expected, advance.next] : undefined;
  return { keys, arg: JSON.stringify({ advance: guarded, expect, writes }) };
}

/**
 * Applies `plan` in one atomic script, moving the offsets field of `advance` with it (when given).
 * Nothing is written unless every precondition holds.
 */
export async function writeProjection(redis: RedisClient, plan: ProjectionPlan, advance?: OffsetAdvance): Promise<ProjectionWriteOutcome> {
  if (plan.writes.length === 0 && !advance) return 'written';
  const { keys, arg } = encode(plan, advance);
  const result = await redis.eval(WRITE_SCRIPT, keys.length, ...keys, arg);
  return result === 1 ? 'written' : result === 2 ? 'lost' : 'conflict';
}
