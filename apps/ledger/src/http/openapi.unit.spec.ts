import { createLogger, createMetrics, openApiMismatches } from '@waybill/platform';
import { createLedgerApp } from './app';
import { openApiDocument } from './openapi';
import type { LedgerRouteDeps } from './routes';

describe('the ledger’s OpenAPI document', () => {
  it('documents exactly the routes the app serves, each with the path parameters its path names', () => {
    // Routes are only registered here, never called, so the dependencies can stay empty.
    const app = createLedgerApp({} as LedgerRouteDeps, {
      logger: createLogger('ledger-test', 'silent'),
      metrics: createMetrics('ledger-test'),
      rateLimit: { perMinute: 100, anonymousPerMinute: 100 },
      apiKeys: `vic:viewer:${'a'.repeat(64)}`,
      readiness: [],
    });
    expect(Object.keys(openApiDocument().paths).length).toBeGreaterThan(10);
    expect(openApiMismatches(app, openApiDocument())).toEqual({ undocumented: [], unrouted: [], pathParameters: [] });
  });
});
