import type { RedisWrite } from '@waybill/streams';

/** One change to the read model: libs/streams' write ops, applied atomically to Redis or to a `MemoryKeyspace`. */
export type Write = RedisWrite;

/** A key's value in a canonical, order-independent form (what `verify` compares). */
export type KeyValue =
  | { type: 'string'; value: string }
  | { type: 'hash'; value: Record<string, string> }
  | { type: 'zset'; value: Array<[member: string, score: number]> };

function sortedHash(hash: Map<string, string>): Record<string, string> {
  return Object.fromEntries([...hash].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Redis zset order: by score, then by member bytes. */
export function sortZset(entries: Iterable<[string, number]>): Array<[string, number]> {
  return [...entries].sort(([ma, sa], [mb, sb]) => (sa !== sb ? sa - sb : Buffer.compare(Buffer.from(ma), Buffer.from(mb))));
}

/**
 * An in-memory keyspace with the semantics of the `Write` ops (libs/streams' `writeProjection` script
 * mirrors `apply`). Plain data, no I/O: projection tests fold records into it and compare dumps.
 */
export class MemoryKeyspace {
  private readonly strings = new Map<string, string>();
  private readonly hashes = new Map<string, Map<string, string>>();
  private readonly zsets = new Map<string, Map<string, number>>();

  get(key: string): string | null {
    return this.strings.get(key) ?? null;
  }

  hget(key: string, field: string): string | null {
    return this.hashes.get(key)?.get(field) ?? null;
  }

  hgetall(key: string): Record<string, string> {
    return Object.fromEntries(this.hashes.get(key) ?? []);
  }

  zscore(key: string, member: string): number | undefined {
    return this.zsets.get(key)?.get(member);
  }

  /** Members in zset order (score, then member). */
  zrange(key: string): Array<[string, number]> {
    return sortZset(this.zsets.get(key) ?? []);
  }

  apply(writes: readonly Write[]): void {
    for (const w of writes) {
      switch (w.op) {
        case 'set':
          this.strings.set(w.key, w.value);
          break;
        case 'zadd':
          this.zset(w.key).set(w.member, w.score);
          break;
        case 'zmin': {
          const zset = this.zset(w.key);
          const current = zset.get(w.member);
          if (current === undefined || w.score < current) zset.set(w.member, w.score);
          break;
        }
        case 'zrem': {
          const zset = this.zsets.get(w.key);
          zset?.delete(w.member);
          if (zset?.size === 0) this.zsets.delete(w.key);
          break;
        }
        case 'del':
          this.strings.delete(w.key);
          this.hashes.delete(w.key);
          this.zsets.delete(w.key);
          break;
        case 'hincrby': {
          const hash = this.hash(w.key);
          hash.set(w.field, String(Number(hash.get(w.field) ?? 0) + w.by));
          break;
        }
        case 'hset':
          this.hash(w.key).set(w.field, w.value);
          break;
        case 'hmax': {
          const hash = this.hash(w.key);
          const current = hash.get(w.field);
          if (current === undefined || Number(current) < Number(w.value)) hash.set(w.field, w.value);
          break;
        }
      }
    }
  }

  /** Every key with its value, keys sorted: the same shape as `dumpKeyspace` reads from Redis. */
  /** Every key with its value, unsorted: for loading into Redis, where order does not matter. */
  *entries(): IterableIterator<[string, KeyValue]> {
    for (const [k, value] of this.strings) yield [k, { type: 'string', value }];
    for (const [k, h] of this.hashes) yield [k, { type: 'hash', value: Object.fromEntries(h) }];
    for (const [k, z] of this.zsets) yield [k, { type: 'zset', value: [...z] }];
  }

  get size(): number {
    return this.strings.size + this.hashes.size + this.zsets.size;
  }

  dump(): Record<string, KeyValue> {
    const out: Array<[string, KeyValue]> = [
      ...[...this.strings].map(([k, value]): [string, KeyValue] => [k, { type: 'string', value }]),
      ...[...this.hashes].map(([k, h]): [string, KeyValue] => [k, { type: 'hash', value: sortedHash(h) }]),
      ...[...this.zsets].map(([k, z]): [string, KeyValue] => [k, { type: 'zset', value: sortZset(z) }]),
    ];
    return Object.fromEntries(out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  private hash(key: string): Map<string, string> {
    let hash = this.hashes.get(key);
    if (!hash) this.hashes.set(key, (hash = new Map()));
    return hash;
  }

  private zset(key: string): Map<string, number> {
    let zset = this.zsets.get(key);
    if (!zset) this.zsets.set(key, (zset = new Map()));
    return zset;
  }
}
