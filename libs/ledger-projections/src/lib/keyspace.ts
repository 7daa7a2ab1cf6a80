import { scanKeys, type RedisClient } from '@waybill/platform';
import { CorruptReadModelError } from './errors';
import { ledgerKeys, ledgerKeyspacePrefix } from './keys';
import { sortZset, type KeyValue } from './writes';

function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** Every key under `keyPrefix`, sorted (SCAN, so it never blocks Redis; every master of a cluster). */
export async function listKeys(redis: RedisClient, keyPrefix: string): Promise<string[]> {
  return (await scanKeys(redis, `${globEscape(keyPrefix)}*`)).sort();
}

/** Every key of the ledger read models under `keyPrefix`, with any left by the layout before the hash slots: what a rebuild deletes. */
export async function listLedgerKeys(redis: RedisClient, keyPrefix: string): Promise<string[]> {
  const [current, legacy] = await Promise.all([listKeys(redis, ledgerKeyspacePrefix(keyPrefix)), listKeys(redis, keyPrefix)]);
  return [...current, ...legacy].sort();
}

/** The ledger's offsets fields (`<topic>:<partition>` → next offset) of `partitions`, from each partition's offsets hash. */
export async function readLedgerOffsets(redis: { hgetall(key: string): Promise<Record<string, string>> }, keyPrefix: string, partitions: Iterable<number>): Promise<Record<string, string>> {
  const hashes = await Promise.all([...new Set(partitions)].map((p) => redis.hgetall(ledgerKeys(keyPrefix, p).offsets)));
  return Object.assign({}, ...hashes) as Record<string, string>;
}

/** One key's value in the canonical form of `MemoryKeyspace.dump()`; undefined if it is gone. */
export async function readKeyValue(redis: RedisClient, key: string): Promise<KeyValue | undefined> {
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
export async function dumpKeyspace(redis: RedisClient, keyPrefix: string): Promise<Record<string, KeyValue>> {
  const out: Record<string, KeyValue> = {};
  for (const key of await listKeys(redis, keyPrefix)) {
    const value = await readKeyValue(redis, key);
    if (value) out[key] = value;
  }
  return out;
}

/** `dumpKeyspace` of the ledger read models under `keyPrefix` (every partition's slot). */
export async function dumpLedgerKeyspace(redis: RedisClient, keyPrefix: string): Promise<Record<string, KeyValue>> {
  return dumpKeyspace(redis, ledgerKeyspacePrefix(keyPrefix));
}
