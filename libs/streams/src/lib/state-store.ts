import type { Cluster, Redis } from 'ioredis';
import type { StateStoreDefinition } from './processor';

/** What a partition's meta hash says: every changelog record below `changelogOffset` is applied. */
export interface StoreMeta {
  changelogOffset: string;
  shapeVersion: number;
}

// Writes states and the new changelog offset in one atomic step, but only if the meta still holds
// the offset this writer last saw (ARGV[1], '' = no meta). MULTI/EXEC alone cannot make that
// check without WATCH, and WATCH belongs to a connection that concurrent partitions share. A
// Lua script is just as atomic (Redis runs it like a MULTI/EXEC block) and lets a fenced zombie's
// late write fail instead of rolling a newer store back.
const COMMIT_SCRIPT = `
local current = redis.call('HGET', KEYS[1], 'changelogOffset')
local shape = redis.call('HGET', KEYS[1], 'shapeVersion')
if (current or '') ~= ARGV[1] then return 0 end
if current and shape ~= ARGV[2] then return 0 end
local n = #ARGV
local i = 4
while i <= n do
  local last = math.min(i + 199, n)
  redis.call('HSET', KEYS[2], unpack(ARGV, i, last))
  i = last + 1
end
redis.call('HSET', KEYS[1], 'changelogOffset', ARGV[3], 'shapeVersion', ARGV[2])
return 1
`;

/**
 * One store partition's two hashes: `{<prefix>:<name>:<p>}:state` (field = key, value = the
 * serialized state) and `{<prefix>:<name>:<p>}:meta` (`changelogOffset`, `shapeVersion`). The part
 * in braces is a Redis Cluster hash tag: both hashes of a partition live in one slot, so the commit
 * script, the checked read (MULTI) and the wipe (one DEL) work on a cluster as on one Redis, and
 * different partitions spread over the cluster's shards. A hash per partition makes a wipe one DEL
 * and a batch read one HMGET.
 */
export function storeKeys(prefix: string, name: string, partition: number): { state: string; meta: string } {
  const tag = `{${prefix}:${name}:${partition}}`;
  return { state: `${tag}:state`, meta: `${tag}:meta` };
}

export class RedisStateStore<S> {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix: string,
    readonly definition: StateStoreDefinition<S>,
  ) {}

  stateKey(partition: number): string {
    return storeKeys(this.prefix, this.definition.name, partition).state;
  }

  metaKey(partition: number): string {
    return storeKeys(this.prefix, this.definition.name, partition).meta;
  }

  async readMeta(partition: number): Promise<StoreMeta | undefined> {
    const [offset, shape] = await this.redis.hmget(this.metaKey(partition), 'changelogOffset', 'shapeVersion');
    if (offset === null) return undefined;
    return { changelogOffset: offset, shapeVersion: Number(shape) };
  }

  async hasState(partition: number): Promise<boolean> {
    return (await this.redis.exists(this.stateKey(partition))) === 1;
  }

  /** Drops the partition's states and meta in one DEL (atomic for both keys). */
  async wipe(partition: number): Promise<void> {
    await this.redis.del(this.stateKey(partition), this.metaKey(partition));
  }

  async get(partition: number, key: string): Promise<S | undefined> {
    const text = await this.redis.hget(this.stateKey(partition), key);
    return text === null ? undefined : this.definition.deserialize(text);
  }

  async getMany(partition: number, keys: readonly string[]): Promise<Map<string, S | undefined>> {
    const result = new Map<string, S | undefined>();
    if (keys.length === 0) return result;
    const texts = await this.redis.hmget(this.stateKey(partition), ...keys);
    keys.forEach((key, index) => {
      const text = texts[index];
      result.set(key, text === null || text === undefined ? undefined : this.definition.deserialize(text));
    });
    return result;
  }

  /**
   * Reads `keys` and the meta in one MULTI/EXEC. Returns `undefined` when the meta no longer says
   * `expectedOffset` (`undefined` = no meta): the store was wiped or moved on by someone else, so
   * these states must not be decided on.
   */
  async getManyChecked(partition: number, keys: readonly string[], expectedOffset: string | undefined): Promise<Map<string, S | undefined> | undefined> {
    const transaction = this.redis.multi().hmget(this.metaKey(partition), 'changelogOffset', 'shapeVersion');
    if (keys.length) transaction.hmget(this.stateKey(partition), ...keys);
    const replies = await transaction.exec();
    if (!replies) return undefined;
    for (const [error] of replies) if (error) throw error;
    const [offset, shape] = replies[0][1] as Array<string | null>;
    if ((offset ?? undefined) !== expectedOffset) return undefined;
    if (offset !== null && Number(shape) !== this.definition.shapeVersion) return undefined;
    const texts = (replies[1]?.[1] ?? []) as Array<string | null>;
    const result = new Map<string, S | undefined>();
    keys.forEach((key, index) => {
      const text = texts[index];
      result.set(key, text === null || text === undefined ? undefined : this.definition.deserialize(text));
    });
    return result;
  }

  /**
   * Writes `states` and `changelogOffset` atomically if the meta still says `expectedOffset`
   * (`undefined` = no meta yet). Returns false when someone else moved the store on.
   */
  async commit(partition: number, expectedOffset: string | undefined, changelogOffset: string, states: ReadonlyMap<string, S>): Promise<boolean> {
    const args: string[] = [expectedOffset ?? '', String(this.definition.shapeVersion), changelogOffset];
    for (const [key, state] of states) args.push(key, this.definition.serialize(state));
    const applied = await this.redis.eval(COMMIT_SCRIPT, 2, this.metaKey(partition), this.stateKey(partition), ...args);
    return applied === 1;
  }
}
