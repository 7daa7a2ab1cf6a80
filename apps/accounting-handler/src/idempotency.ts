import { nameDerivedUuid } from '@waybill/contracts';
import { identityDigest } from '@waybill/command-gateway';

/**
 * The transaction id of a request with an Idempotency-Key: a function of who sent it, the key and
 * the account, so even when the key's record is forgotten (expiry, a flushed Redis) a retry
 * carries the same id and the command listener drops it as a duplicate: it can never book twice.
 */
export function idempotentTransactionId(principal: string, key: string, accountId: string): string {
  return `http:${identityDigest([principal, key, accountId]).slice(0, 40)}`;
}

/**
 * The command id of a request with an Idempotency-Key: a function of who sent it, the key and the
 * account, as the transaction id is. A produce whose acknowledgement was lost (the broker died
 * after appending) gives the key back, and the client's retry must carry the same command id:
 * the first record is answered under that id, which is the one the client then polls.
 */
export function idempotentCommandId(principal: string, key: string, accountId: string): string {
  return nameDerivedUuid(['accounting', principal, key, accountId]);
}
