import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

/** What a claimed Idempotency-Key remembers: the command it was used for and what that asked. */
export interface IdempotencyRecord {
  commandId: string;
  fingerprint: string;
}

export type Claim<R extends IdempotencyRecord> = { kind: 'new' } | { kind: 'replay'; record: R } | { kind: 'mismatch'; record: R };

/** A stable digest of what a request asked for, to tell a retry from a reused key. */
export function fingerprint(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/** A hex digest of a request's identity (principal, key, aggregate): what name-derived ids are cut from. */
export function identityDigest(parts: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

const RELEASE_SCRIPT = `
local stored = redis.call('GET', KEYS[1])
if stored and cjson.decode(stored).commandId == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * Idempotency keys, per principal: the first request with a key claims it (SET NX); a repeat of
 * the same request gets the first command's answer; the same key on a different request is
 * refused rather than silently answered with someone else's result.
 */
export class IdempotencyStore<R extends IdempotencyRecord> {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly keyPrefix: string,
    private readonly ttlSeconds: number,
  ) {}

  /**
   * Gives the key back when the command it claimed for could not be produced, so the client's
   * retry produces it (with the same id) instead of waiting forever for an answer to nothing.
   * Only this claim is removed: a newer one for the same key stays.
   */
  async release(principal: string, key: string, commandId: string): Promise<void> {
    await this.redis.eval(RELEASE_SCRIPT, 1, this.redisKey(principal, key), commandId);
  }

  private redisKey(principal: string, key: string): string {
    return `${this.keyPrefix}:idempotency:${principal}:${key}`;
  }

  async claim(principal: string, key: string, record: R): Promise<Claim<R>> {
    const redisKey = this.redisKey(principal, key);
    const claimed = await this.redis.set(redisKey, JSON.stringify(record), 'EX', this.ttlSeconds, 'NX');
    if (claimed === 'OK') return { kind: 'new' };
    const stored = await this.redis.get(redisKey);
    // NOTE: expiry between SET NX and GET: the key is free again, so this request is new.
    if (!stored) return this.claim(principal, key, record);
    const existing = JSON.parse(stored) as R;
    return existing.fingerprint === record.fingerprint ? { kind: 'replay', record: existing } : { kind: 'mismatch', record: existing };
  }
}
