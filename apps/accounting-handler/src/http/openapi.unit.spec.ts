import { openApiMismatches } from '@waybill/platform';
import type { AccountingService } from '../accounting-service';
import type { BalanceClient } from '../balance-client';
import { openApiDocument } from './openapi';
import { accountingRoutes } from './routes';

describe('accounting-handler’s OpenAPI document', () => {
  it('documents exactly the routes it serves (beside the platform’s), each with the path parameters its path names', () => {
    expect(openApiMismatches(accountingRoutes({} as AccountingService, {} as BalanceClient), openApiDocument())).toEqual({ undocumented: [], unrouted: [], pathParameters: [] });
  });
});
