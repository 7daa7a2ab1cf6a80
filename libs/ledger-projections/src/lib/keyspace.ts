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

/**
 * Writes every key of `entries` into Redis (which must not hold them yet) in pipelined batches of
 * about `batchCommands` commands, big hashes and zsets split into several HSET/ZADD calls. The
 * bulk half of a rebuild: planning in memory and writing once is several times faster than one
 * conditional script per batch.
 */
export async function loadKeyspace(
  redis: Redis,
  entries: Iterable<[string, KeyValue]>,
  options: { batchCommands?: number; onProgress?: (keysWritten: number) => void } = {},
): Promise<number> {
  const batchCommands = options.batchCommands ?? 1_000;
  const FIELDS_PER_COMMAND = 500;
  let pipeline = redis.pipeline();
  let queued = 0;
  let written = 0;
  const flush = async () => {
    if (!queued) return;
    const results = await pipeline.exec();
    for (const [error] of results ?? []) if (error) throw error;
    pipeline = redis.pipeline();
    queued = 0;
    options.onProgress?.(written);
  };
  for (const [key, entry] of entries) {
    if (entry.type === 'string') {
      pipeline.set(key, entry.value);
      queued += 1;
    } else if (entry.type === 'hash') {
      const fields = Object.entries(entry.value);
      for (let i = 0; i < fields.length; i += FIELDS_PER_COMMAND) {
        pipeline.hset(key, ...fields.slice(i, i + FIELDS_PER_COMMAND).flat());
        queued += 1;
      }
    } else {
      for (let i = 0; i < entry.value.length; i += FIELDS_PER_COMMAND) {
        pipeline.zadd(key, ...entry.value.slice(i, i + FIELDS_PER_COMMAND).flatMap(([member, score]) => [String(score), member]));
        queued += 1;
      }
    }
    written += 1;
    if (queued >= batchCommands) await flush();
  }
  await flush();
  return written;
}
