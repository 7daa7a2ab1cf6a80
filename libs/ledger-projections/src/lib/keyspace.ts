import type Redis from 'ioredis';
import { CorruptReadModelError } from './errors';
import { sortZset, type KeyValue } from './writes';

function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** Every key under `keyPrefix`, sorted (SCAN, so it never blocks Redis). */
export async function listKeys(redis: Redis, keyPrefix: string): Promise<string[]> {
  const found = new Set<string>();
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${globEscape(keyPrefix)}*`, 'COUNT', '1000');
    for (const key of batch) found.add(key);
    cursor = next;
  } while (cursor !== '0');
  return [...found].sort();
}

/** One key's value in the canonical form of `MemoryKeyspace.dump()`; undefined if it is gone. */
export async function readKeyValue(redis: Redis, key: string): Promise<KeyValue | undefined> {
  const type = await redis.type(key);
  switch (type) {
    case 'string':
      return { type, value: (await redis.get(key)) ?? '' };
    case 'hash': {
      const hash = await redis.hgetall(key);
      return { type, value: Object.fromEntries(Object.entries(hash).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) };
    }
    case 'zset': {
      const flat = (await redis.zrange(key, 0, '-1', 'WITHSCORES')) as string[];
      const pairs: Array<[string, number]> = [];
      for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i], Number(flat[i + 1])]);
      return { type, value: sortZset(pairs) };
    }
    case 'none':
      return undefined;
    default:
      // The ledger writes only strings, hashes and zsets.
      throw new CorruptReadModelError(key);
  }
}

/**
 * Every key under `keyPrefix` with its value, keys sorted, values canonical (hash fields sorted,
 * zsets in zset order): two keyspaces hold the same read models exactly when these are deep-equal.
 */
export async function dumpKeyspace(redis: Redis, keyPrefix: string): Promise<Record<string, KeyValue>> {
  const out: Record<string, KeyValue> = {};
  for (const key of await listKeys(redis, keyPrefix)) {
    const value = await readKeyValue(redis, key);
    if (value) out[key] = value;
  }
  return out;
}
