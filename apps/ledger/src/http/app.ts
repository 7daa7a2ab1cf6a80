import type { Express } from 'express';
import { createHttpApp, jsonErrorHandler, type AppMetrics, type Logger, type ReadinessCheck } from '@waybill/platform';
import { ledgerRoutes, type LedgerRouteDeps } from './routes';

/** The ledger's express app: platform endpoints, then the query API behind the API key. */
export function createLedgerApp(deps: LedgerRouteDeps, options: { logger: Logger; metrics: AppMetrics; apiKeys: string; readiness: ReadinessCheck[] }): Express {
  const { app, authenticated } = createHttpApp(options);
  app.use(authenticated, ledgerRoutes(deps));
  app.use(jsonErrorHandler(options.logger));
  return app;
}
