import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import express, { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { sendValidation, undeclaredCommandFields, withoutIgnoredFields } from '@waybill/command-gateway';
import { ConfigError, type Logger } from '@waybill/platform';
import { CORRECTION, SHIPMENT_EVENT_TYPES, SHIPMENT_STATUSES, TRANSITIONS, TRANSITION_GUARDS, allowedCommands, isTerminalStatus } from '@waybill/shipment-domain';

/**
 * The admin page (`/admin`): one `index.html` and a hashed bundle built by
 * `apps/ledger/web/build.mjs` into `apps/ledger/dist/web`, plus the few routes only the page needs.
 *
 * - `GET /admin/`, `/admin/assets/*`: the page itself, public (it holds no data and no secrets),
 *   sent with a strict Content-Security-Policy (`script-src 'self'`, nothing inline).
 * - `GET /admin/whoami`: `{ principal, role }` of the presented key (the page learns the role here).
 * - `GET /admin/config.json`: `{ shipmentHandlerUrl }`, no secrets.
 * - `GET /admin/state-machine.json`: the shipment state machine table, for the diagram.
 * - `POST /admin/api/shipments/:id/correct-status` `{ toStatus, reason }`: forwarded as a
 *   `CorrectStatus` command to shipment-handler with the caller's own key, so shipment-handler
 *   decides who may correct (supervisors) and raises the alert when someone else tries.
 *
 * Everything but the page and its assets needs an API key, like every ledger route.
 */

export const adminConfigSchema = z.object({
  /** Where shipment-handler listens; the correct-status proxy forwards there. */
  SHIPMENT_HANDLER_URL: z.string().url().default('http://127.0.0.1:3001'),
});
export type AdminConfig = z.infer<typeof adminConfigSchema>;

export function loadAdminConfig(env: NodeJS.ProcessEnv = process.env): AdminConfig {
  const parsed = adminConfigSchema.safeParse(env);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  return parsed.data;
}

export interface AdminOptions {
  shipmentHandlerUrl: string;
  logger: Logger;
  /** The built page; defaults to `dist/web` beside the compiled app. */
  webDir?: string;
  /** How long the proxy waits for shipment-handler. */
  proxyTimeoutMs?: number;
}

/** The policy for the page: its own scripts, styles and API only; no inline code, no framing. */
export const ADMIN_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

function csp(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader('Content-Security-Policy', ADMIN_CSP);
  next();
}

/** The state machine as the page draws it. */
export function stateMachineDocument() {
  const transitions = Object.entries(TRANSITIONS).flatMap(([from, row]) =>
    Object.entries(row as Record<string, string>).map(([command, to]) => ({
      from,
      command,
      to,
      guard: (TRANSITION_GUARDS as Partial<Record<string, string>>)[command] ?? null,
    })),
  );
  return {
    statuses: SHIPMENT_STATUSES,
    eventTypes: SHIPMENT_EVENT_TYPES,
    transitions,
    allowed: Object.fromEntries(SHIPMENT_STATUSES.map((s) => [s, allowedCommands(s)])),
    terminal: SHIPMENT_STATUSES.filter((s) => isTerminalStatus(s)),
    correction: { command: CORRECTION.command, event: CORRECTION.event, roles: CORRECTION.roles, rules: CORRECTION.rules },
  };
}

export function adminRoutes(options: AdminOptions & { authenticated: RequestHandler }): Router {
  const router = Router();
  const webDir = options.webDir ?? join(__dirname, '..', 'web');
  const indexFile = join(webDir, 'index.html');
  const handlerUrl = options.shipmentHandlerUrl.replace(/\/+$/, '');
  const timeoutMs = options.proxyTimeoutMs ?? 15_000;
  const { authenticated } = options;
  let indexHtml: string | undefined;

  const sendIndex = (_req: Request, res: Response) => {
    if (indexHtml === undefined && existsSync(indexFile)) indexHtml = readFileSync(indexFile, 'utf8');
    res.setHeader('Cache-Control', 'no-cache');
    if (indexHtml === undefined) {
      res.status(503).type('text/plain').send('The admin page is not built: run `npx nx run ledger:build`.\n');
      return;
    }
    res.type('html').send(indexHtml);
  };

  // Express matches `/admin` and `/admin/` alike; the page's relative asset URLs need the slash.
  router.get('/admin', csp, (req, res) => {
    if (req.path.endsWith('/')) return sendIndex(req, res);
    res.redirect(301, '/admin/');
  });
  router.get('/admin/index.html', csp, sendIndex);
  // Asset names carry a content hash, so they can be cached for good (instead of the API's no-store).
  const cacheable = (_req: Request, res: Response, next: NextFunction) => {
    res.removeHeader('Cache-Control');
    next();
  };
  router.use('/admin/assets', csp, cacheable, express.static(join(webDir, 'assets'), { index: false, fallthrough: false, immutable: true, maxAge: '365d' }));

  router.get('/admin/whoami', authenticated, (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    const principal = req.principal;
    if (!principal) return void res.status(401).json({ error: 'UNAUTHENTICATED', message: 'a valid API key is required (X-API-Key header)' });
    res.json({ principal: principal.id, role: principal.role });
  });

  router.get('/admin/config.json', authenticated, (_req, res) => {
    res.json({ shipmentHandlerUrl: handlerUrl, correctStatusPath: '/admin/api/shipments/{id}/correct-status' });
  });

  const stateMachine = stateMachineDocument();
  router.get('/admin/state-machine.json', authenticated, (_req, res) => {
    res.json(stateMachine);
  });

  router.post('/admin/api/shipments/:id/correct-status', authenticated, async (req, res) => {
    const raw: unknown = req.body ?? {};
    // shipment-handler judges the values; only what cannot be forwarded as a command is refused
    // here (a 100 000-deep array cannot even be serialised), and a field a CorrectStatus does not
    // have, by the same rule and with the same 400 as shipment-handler (never dropped: a stray
    // `"type": "Ship"` beside a correction is a mistake to report, not to ignore).
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      return sendValidation(res, [{ field: '(body)', message: 'must be a JSON object { toStatus, reason }' }]);
    }
    const body = withoutIgnoredFields(raw as Record<string, unknown>);
    const fieldErrors = [
      ...undeclaredCommandFields('CorrectStatus', body),
      ...(['toStatus', 'reason'] as const).filter((f) => body[f] !== undefined && body[f] !== null && typeof body[f] !== 'string').map((field) => ({ field, message: 'must be a string' })),
    ];
    if (fieldErrors.length) return sendValidation(res, fieldErrors);
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    // The caller's own credentials: shipment-handler authorises (and alerts) exactly as if called directly.
    for (const name of ['x-api-key', 'authorization', 'x-trace-id', 'if-match', 'idempotency-key']) {
      const value = req.header(name);
      if (value) headers[name] = value;
    }
    const url = `${handlerUrl}/shipments/${encodeURIComponent(req.params.id)}/commands`;
    try {
      const answer = await fetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ type: 'CorrectStatus', data: { toStatus: body.toStatus, reason: body.reason } }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await answer.text();
      res.status(answer.status);
      for (const name of ['etag', 'x-trace-id']) {
        const value = answer.headers.get(name);
        if (value) res.setHeader(name, value);
      }
      res.type(answer.headers.get('content-type') ?? 'application/json').send(text);
    } catch (err) {
      options.logger.warn({ err, url }, 'correct-status: shipment-handler did not answer');
      res.status(502).json({ error: 'SHIPMENT_HANDLER_UNAVAILABLE', message: `shipment-handler at ${handlerUrl} did not answer; look at the shipment before retrying` });
    }
  });

  return router;
}
