import { BALANCE_API_SCHEMAS, balanceApiPaths } from '@waybill/contracts';
import { openApiDocument as platformDocument, UNAVAILABLE, type OpenApiDocument } from '@waybill/platform';

/** account-reducer's OpenAPI document: the balance API it owns (a unit test keeps it equal to the router). */
export function openApiDocument(): OpenApiDocument {
  return platformDocument({
    title: 'Waybill account-reducer',
    description: 'Balances folded from accounting.transactions, the one place balances are answered from (accounting-handler passes these reads on). Any role with a key may read.',
    schemas: BALANCE_API_SCHEMAS,
    paths: balanceApiPaths(UNAVAILABLE),
  });
}
