import { nameDerivedUuid } from '@waybill/shipment-messages';

/**
 * The command id of a request with an Idempotency-Key: a function of who sent it, the key and the
 * shipment (a name-derived UUID), so even when the key's record is forgotten (expiry, a Redis
 * restarted empty) a retry carries the same command id and the reducer, which remembers the
 * shipment's recent command ids, answers it again instead of acting twice.
 */
export function idempotentCommandId(principal: string, key: string, shipmentId: string): string {
  return nameDerivedUuid([principal, key, shipmentId]);
}
