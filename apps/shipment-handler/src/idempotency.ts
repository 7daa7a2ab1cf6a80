import { identityDigest } from '@waybill/command-gateway';

/**
 * The command id of a request with an Idempotency-Key: a function of who sent it, the key and the
 * shipment (shaped as a UUID), so even when the key's record is forgotten (expiry, a Redis
 * restarted empty) a retry carries the same command id and the reducer, which remembers the
 * shipment's recent command ids, answers it again instead of acting twice.
 */
export function idempotentCommandId(principal: string, key: string, shipmentId: string): string {
  const hex = identityDigest([principal, key, shipmentId]);
  // RFC 9562 version 8 (custom) and variant bits: a well-formed UUID that says it is name-derived.
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
