import { openApiMismatches } from '@waybill/platform';
import type { BalanceReads } from '../balance-reads';
import { openApiDocument } from './openapi';
import { balanceRoutes } from './routes';

describe('account-reducer’s OpenAPI document', () => {
  it('documents exactly the routes it serves (beside the platform’s), each with the path parameters its path names', () => {
    expect(openApiMismatches(balanceRoutes({} as BalanceReads, { waitForTimeoutMs: 0 }), openApiDocument())).toEqual({ undocumented: [], unrouted: [], pathParameters: [] });
  });
});
