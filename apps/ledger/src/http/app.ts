import type { Express } from 'express';
import { createHttpApp, jsonErrorHandler, type HttpAppOptions } from '@waybill/platform';
import { opsRoutes } from '../ops/ops-routes';
import type { OperationsSource } from '../ops/operations-view';
import { adminRoutes, type AdminOptions } from './admin';
import { openApiDocument } from './openapi';
import { ledgerRoutes, type LedgerRouteDeps } from './routes';

/** The ledger's express app: platform endpoints (its OpenAPI document included), the admin page and the operations view (when given), then the query API behind the API key. */
export function createLedgerApp(
  deps: LedgerRouteDeps,
  options: Omit<HttpAppOptions, 'openApi'> & { admin?: AdminOptions; ops?: OperationsSource },
): Express {
  const { app, authenticated } = createHttpApp({ ...options, openApi: openApiDocument() });
  if (options.admin) app.use(adminRoutes({ ...options.admin, authenticated }));
  if (options.ops) app.use(opsRoutes({ source: options.ops, authenticated, logger: options.logger }));
  app.use(authenticated, ledgerRoutes(deps));
  app.use(jsonErrorHandler(options.logger));
  return app;
}
