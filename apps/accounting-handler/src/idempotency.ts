import { identityDigest } from '@waybill/command-gateway';

/**
 * The transaction id of a request with an Idempotency-Key: a function of who sent it, the key and
 * the account, so even when the key's record is forgotten (expiry, a flushed Redis) a retry
 * carries the same id and the command listener drops it as a duplicate: it can never book twice.
 */
export function idempotentTransactionId(principal: string, key: string, accountId: string): string {
  return `http:${identityDigest([principal, key, accountId]).slice(0, 40)}`;
}
