import { parseReadToken, type ReadToken } from '@waybill/shipment-messages';
import { InvalidQueryError } from './errors';

/**
 * The `readToken` values of a read of shipment `shipmentId` (the id in the path): undefined when
 * none is given, else the one token, which must name that shipment.
 */
export function parseReadTokenParam(values: readonly string[], shipmentId: string): ReadToken | undefined {
  if (values.length === 0) return undefined;
  if (values.length > 1) throw new InvalidQueryError('readToken', 'must be given once: a read is of one shipment');
  const parsed = parseReadToken(values[0]);
  if ('problem' in parsed) throw new InvalidQueryError('readToken', parsed.problem);
  if (parsed.token.shipmentId !== shipmentId) {
    throw new InvalidQueryError('readToken', `is for shipment ${parsed.token.shipmentId}, not ${shipmentId}: pass the token of a write to this shipment`);
  }
  return parsed.token;
}
