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
 * The command id of a request with an Idempotency-Key: a function of who sent it, the key and the
 * shipment (shaped as a UUID), so even when this store has forgotten the key (expiry, a Redis
 * restarted empty) a retry carries the same command id and the reducer, which remembers the
 * shipment's recent command ids, answers it again instead of acting twice.
 */
export function idempotentCommandId(principal: string, key: string, shipmentId: string): string {
  const hex = createHash('sha256').update(JSON.stringify([principal, key, shipmentId])).digest('hex');
  // RFC 9562 version 8 (custom) and variant bits: a well-formed UUID that says it is name-derived.
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

const RELEASE_SCRIPT = `
local stored = redis.call('GET', KEYS[1])
if stored and cjson.decode(stored).commandId == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

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
