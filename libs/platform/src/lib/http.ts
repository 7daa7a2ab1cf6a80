import express, { Express, NextFunction, Request, Response } from 'express';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { AppMetrics } from './metrics';
import { apiKeyAuth, parseApiKeys, requireRole, ROLES } from './auth';

export interface ReadinessCheck {
  name: string;
  check: () => Promise<boolean> | boolean;
}

export interface HttpAppOptions {
  logger: Logger;
  metrics: AppMetrics;
  apiKeys: string;
  readiness?: ReadinessCheck[];
  bodyLimit?: string;
}

/**
 * An express app with the endpoints every Waybill app has: `/healthz` (alive), `/readyz` (its
 * dependencies answer), `/metrics` (Prometheus, API key needed like every non-health route),
 * JSON bodies with a size limit, and security headers. Routes added afterwards need a key.
 */
export function createHttpApp(options: HttpAppOptions): { app: Express; authenticated: ReturnType<typeof apiKeyAuth> } {
  const app = express();
  app.disable('x-powered-by');
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    next();
  });
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const results = await Promise.all(
      (options.readiness ?? []).map(async ({ name, check }) => {
        try {
          return { name, ok: await check() };
        } catch {
          return { name, ok: false };
        }
      }),
    );
    const ready = results.every((r) => r.ok);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks: results });
  });
  const authenticated = apiKeyAuth(parseApiKeys(options.apiKeys));
  app.get('/metrics', authenticated, requireRole(...ROLES), async (_req, res) => {
    res.type(options.metrics.registry.contentType).send(await options.metrics.registry.metrics());
  });
  app.use(express.json({ limit: options.bodyLimit ?? '1mb' }));
  return { app, authenticated };
}

/** The last middleware: turns body-parser and unexpected errors into JSON, never an HTML page. */
export function jsonErrorHandler(logger: Logger) {
  return (err: Error & { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => {
    if (err.type === 'entity.too.large') return res.status(413).json({ error: 'PAYLOAD_TOO_LARGE', message: err.message });
    if (err.type === 'entity.parse.failed') return res.status(400).json({ error: 'INVALID_JSON', message: 'the body is not valid JSON' });
    if (err.status && err.status >= 400 && err.status < 500) return res.status(err.status).json({ error: 'BAD_REQUEST', message: err.message });
    logger.error({ err }, 'unhandled error in request');
    return res.status(500).json({ error: 'INTERNAL', message: 'internal error' });
  };
}

export function listen(app: Express, port: number, host = '0.0.0.0'): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, () => resolve(server));
    server.once('error', reject);
  });
}
