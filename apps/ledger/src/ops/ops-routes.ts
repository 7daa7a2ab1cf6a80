import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import express, { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { requireRole, type Logger } from '@waybill/platform';
import { ADMIN_CSP } from '../http/admin';
import type { OperationsSource } from './operations-view';

/** Who may see the operations view: the roles that run the floor and the system. */
export const OPS_ROLES = ['team-lead', 'supervisor'] as const;

export interface OpsRouteOptions {
  source: OperationsSource;
  authenticated: RequestHandler;
  logger: Logger;
  /** The built page; defaults to `dist/web-ops` beside the compiled app. */
  webDir?: string;
}

function csp(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader('Content-Security-Policy', ADMIN_CSP);
  next();
}

/**
 * The operations view (`/admin/ops/`): its own page and bundle (apps/ledger/web/ops), public like
 * the admin page (it holds no data), and `GET /admin/api/ops`, the snapshot it polls, behind an
 * API key of a team lead or supervisor.
 */
export function opsRoutes(options: OpsRouteOptions): Router {
  const router = Router();
  const webDir = options.webDir ?? join(__dirname, '..', 'web-ops');
  const indexFile = join(webDir, 'index.html');
  let indexHtml: string | undefined;
  const sendIndex = (_req: Request, res: Response) => {
    if (indexHtml === undefined && existsSync(indexFile)) indexHtml = readFileSync(indexFile, 'utf8');
    res.setHeader('Cache-Control', 'no-cache');
    if (indexHtml === undefined) return void res.status(503).type('text/plain').send('The operations page is not built: run `npx nx run ledger:build`.\n');
    res.type('html').send(indexHtml);
  };
  router.get('/admin/ops', csp, (req, res) => {
    if (req.path.endsWith('/')) return sendIndex(req, res);
    res.redirect(301, '/admin/ops/');
  });
  const cacheable = (_req: Request, res: Response, next: NextFunction) => {
    res.removeHeader('Cache-Control');
    next();
  };
  router.use('/admin/ops/assets', csp, cacheable, express.static(join(webDir, 'assets'), { index: false, fallthrough: false, immutable: true, maxAge: '365d' }));

  router.get('/admin/api/ops', options.authenticated, requireRole(...OPS_ROLES), async (_req, res) => {
    try {
      res.json(await options.source.snapshot());
    } catch (err) {
      options.logger.warn({ err }, 'operations view: snapshot failed');
      res.status(503).json({ error: 'KAFKA_UNAVAILABLE', message: 'could not read the consumer groups from Kafka; try again' });
    }
  });
  return router;
}
