import { createHash } from 'node:crypto';
import type Redis from 'ioredis';

export interface IdempotencyRecord {
  commandId: string;
  shipmentId: string;
  fingerprint: string;
}

export type Claim = { kind: 'new' } | { kind: 'replay'; record: IdempotencyRecord } | { kind: 'mismatch'; record: IdempotencyRecord };

/** A stable digest of what a request asked for, to tell a retry from a reused key. */
export function fingerprint(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/**
 * Idempotency keys, per principal: the first request with a key claims it (SET NX); a repeat
 * with the same request gets the first command's outcome; the same key on a different request
 * is refused rather than silently answered with someone else's result.
 */
export class IdempotencyStore {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly ttlSeconds: number,
  ) {}

  async claim(principal: string, key: string, record: IdempotencyRecord): Promise<Claim> {
    const redisKey = `${this.keyPrefix}:idempotency:${principal}:${key}`;
    const claimed = await this.redis.set(redisKey, JSON.stringify(record), 'EX', this.ttlSeconds, 'NX');
    if (claimed === 'OK') return { kind: 'new' };
    const stored = await this.redis.get(redisKey);
    // NOTE: expiry between SET NX and GET: the key is free again, so this request is new.
    if (!stored) return this.claim(principal, key, record);
    const existing = JSON.parse(stored) as IdempotencyRecord;
    return existing.fingerprint === record.fingerprint ? { kind: 'replay', record: existing } : { kind: 'mismatch', record: existing };
  }
}
