import { createHash } from 'node:crypto';
import type Redis from 'ioredis';

export interface IdempotencyRecord {
  commandId: string;
  accountId: string;
  transactionId: string;
  fingerprint: string;
}

export type Claim = { kind: 'new' } | { kind: 'replay'; record: IdempotencyRecord } | { kind: 'mismatch'; record: IdempotencyRecord };

/** A stable digest of what a request asked for, to tell a retry from a reused key. */
export function fingerprint(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/**
 * The transaction id of a request with an Idempotency-Key: a function of who sent it, the key and
 * the account, so even when this store has forgotten the key (expiry, a flushed Redis) a retry
 * carries the same id and the command listener drops it as a duplicate: it can never book twice.
 */
export function idempotentTransactionId(principal: string, key: string, accountId: string): string {
  return `http:${createHash('sha256').update(JSON.stringify([principal, key, accountId])).digest('hex').slice(0, 40)}`;
}

const RELEASE_SCRIPT = `
local stored = redis.call('GET', KEYS[1])
if stored and cjson.decode(stored).commandId == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * Idempotency keys, per principal: the first request with a key claims it (SET NX); a repeat of
 * the same request gets the first command's answer; the same key on a different request is refused.
 */
export class IdempotencyStore {
  constructor(
    private readonly redis: Redis,
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

  async claim(principal: string, key: string, record: IdempotencyRecord): Promise<Claim> {
    const redisKey = this.redisKey(principal, key);
    const claimed = await this.redis.set(redisKey, JSON.stringify(record), 'EX', this.ttlSeconds, 'NX');
    if (claimed === 'OK') return { kind: 'new' };
    const stored = await this.redis.get(redisKey);
    // NOTE: expiry between SET NX and GET: the key is free again, so this request is new.
    if (!stored) return this.claim(principal, key, record);
    const existing = JSON.parse(stored) as IdempotencyRecord;
    return existing.fingerprint === record.fingerprint ? { kind: 'replay', record: existing } : { kind: 'mismatch', record: existing };
  }
}
