import type { Express } from 'express';
import { createHttpApp, jsonErrorHandler, type HttpAppOptions } from '@waybill/platform';
import { adminRoutes, type AdminOptions } from './admin';
import { openApiDocument } from './openapi';
import { ledgerRoutes, type LedgerRouteDeps } from './routes';

/** The ledger's express app: platform endpoints (its OpenAPI document included), the admin page (when given), then the query API behind the API key. */
export function createLedgerApp(
  deps: LedgerRouteDeps,
  options: Omit<HttpAppOptions, 'openApi'> & { admin?: AdminOptions },
): Express {
  const { app, authenticated } = createHttpApp({ ...options, openApi: openApiDocument() });
  if (options.admin) app.use(adminRoutes({ ...options.admin, authenticated }));
  app.use(authenticated, ledgerRoutes(deps));
  app.use(jsonErrorHandler(options.logger));
  return app;
}
