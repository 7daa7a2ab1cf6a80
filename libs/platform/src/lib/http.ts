import express, { ErrorRequestHandler, Express, NextFunction, Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { AppMetrics } from './metrics';
import { apiKeyAuth, identifyApiKey, parseApiKeys, requireRole, ROLES } from './auth';
import type { OpenApiDocument } from './openapi';

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
  /**
   * Requests a minute per principal, and per client address for requests without a valid key
   * (`rateLimitOf(config)`: RATE_LIMIT_PER_MINUTE and RATE_LIMIT_ANONYMOUS_PER_MINUTE).
   */
  rateLimit: { perMinute: number; anonymousPerMinute: number };
  /** This app's OpenAPI description (`openApiDocument`), served at `GET /openapi.json` to any role with a key. */
  openApi: OpenApiDocument;
}

/**
 * A fixed one-minute window per principal (per client address without a valid key), in this
 * instance's memory: past the limit, 429 with `Retry-After` (seconds) and `RateLimit` headers.
 */
function rateLimiter(limits: { perMinute: number; anonymousPerMinute: number }) {
  return rateLimit({
    windowMs: 60_000,
    limit: (req: Request) => (req.principal ? limits.perMinute : limits.anonymousPerMinute),
    keyGenerator: (req: Request) => (req.principal ? `principal:${req.principal.id}` : `address:${ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? 'unknown')}`),
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    // No proxy is trusted: the address is the socket's, so a forged X-Forwarded-For changes nothing.
    validate: { xForwardedForHeader: false, forwardedHeader: false },
    handler: (req: Request, res: Response) => {
      const who = req.principal ? `principal ${req.principal.id}` : 'this address without a valid API key';
      const limit = req.principal ? limits.perMinute : limits.anonymousPerMinute;
      res.status(429).json({
        error: 'RATE_LIMITED',
        message: `too many requests: at most ${limit} a minute for ${who}; retry after ${String(res.getHeader('Retry-After'))} s`,
        retryAfterSeconds: Number(res.getHeader('Retry-After')),
      });
    },
  });
}

/**
 * Sent on every answer, errors and health checks included (a route may tighten or replace one,
 * as the admin page does with its own Content-Security-Policy and caching). The answers are JSON
 * for programs: nothing may sniff, frame, cache or refer them anywhere.
 */
export const SECURITY_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['X-Content-Type-Options', 'nosniff'],
  ['X-Frame-Options', 'DENY'],
  ['Referrer-Policy', 'no-referrer'],
  ['Cross-Origin-Resource-Policy', 'same-origin'],
  ['Cross-Origin-Opener-Policy', 'same-origin'],
  ['Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"],
  ['X-Permitted-Cross-Domain-Policies', 'none'],
  ['Cache-Control', 'no-store'],
];

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * JSON is UTF-8 (RFC 8259): a body in another charset is 415, and bytes that are not UTF-8 are a
 * 400 INVALID_JSON, where express.json alone would decode them to U+FFFD and go on without a word.
 */
function utf8Only(_req: Request, _res: Response, body: Buffer, encoding: string): void {
  if (!/^utf-?8$/i.test(encoding)) {
    throw Object.assign(new Error(`the body must be JSON in UTF-8, not ${encoding}`), { status: 415, type: 'charset.unsupported' });
  }
  try {
    UTF8.decode(body);
  } catch {
    throw Object.assign(new Error('the body is not valid UTF-8 (JSON must be UTF-8)'), { status: 400, type: 'encoding.invalid' });
  }
}

/** `decodeURIComponent`, or undefined where the text is not percent-encoded UTF-8. */
function decoded(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/**
 * A path or a query parameter that is not percent-encoded UTF-8 (`%FF`, `%C3%28`, a cut-short
 * `%E0%A4%A`, an encoded surrogate) is a 400, naming the parameter, instead of being kept as the
 * raw text (express's query parser) or decoded some other way.
 */
function refuseUndecodableUrl(req: Request, res: Response, next: NextFunction): void {
  const url = req.originalUrl ?? req.url;
  const mark = url.indexOf('?');
  const path = mark >= 0 ? url.slice(0, mark) : url;
  if (decoded(path) === undefined) {
    return void res.status(400).json({ error: 'BAD_REQUEST', message: 'the path is not valid percent-encoded UTF-8' });
  }
  if (mark >= 0) {
    for (const part of url.slice(mark + 1).split('&')) {
      const eq = part.indexOf('=');
      const rawName = (eq >= 0 ? part.slice(0, eq) : part).replace(/\+/g, ' ');
      const rawValue = eq >= 0 ? part.slice(eq + 1).replace(/\+/g, ' ') : '';
      const name = decoded(rawName);
      if (name === undefined || decoded(rawValue) === undefined) {
        const param = name ?? rawName;
        return void res.status(400).json({ error: 'BAD_REQUEST', param, message: `${param} is not valid percent-encoded UTF-8` });
      }
    }
  }
  next();
}

/**
 * An express app with the endpoints every Waybill app has: `/healthz` (alive), `/readyz` (its
 * dependencies answer), `/metrics` (Prometheus) and `/openapi.json` (the app's OpenAPI document),
 * both with an API key like every non-health route,
 * JSON bodies with a size limit (413 past it), `SECURITY_HEADERS` on every answer, and a rate limit
 * per principal (per address without a valid key) on everything but the health checks (429 with
 * `Retry-After`). Routes added afterwards need a key (`authenticated`); finish with
 * `app.use(jsonErrorHandler(logger))` and serve with `listen`.
 */
export function createHttpApp(options: HttpAppOptions): { app: Express; authenticated: ReturnType<typeof apiKeyAuth> } {
  const app = express();
  app.disable('x-powered-by');
  app.use((_req, res, next) => {
    for (const [name, value] of SECURITY_HEADERS) res.setHeader(name, value);
    next();
  });
  app.use(refuseUndecodableUrl);
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
  const keys = parseApiKeys(options.apiKeys);
  const authenticated = apiKeyAuth(keys);
  // Everything below the health checks counts against a rate limit, keyed by who is asking.
  app.use(identifyApiKey(keys), rateLimiter(options.rateLimit));
  app.get('/metrics', authenticated, requireRole(...ROLES), async (_req, res) => {
    res.type(options.metrics.registry.contentType).send(await options.metrics.registry.metrics());
  });
  app.get('/openapi.json', authenticated, requireRole(...ROLES), (_req, res) => {
    res.json(options.openApi);
  });
  app.use(express.json({ limit: options.bodyLimit ?? '1mb', verify: utf8Only }));
  return { app, authenticated };
}

/**
 * The last middleware (`app.use(jsonErrorHandler(logger))`): a JSON 404 for a path or method no
 * route has, and body-parser and unexpected errors as JSON, never express's HTML page.
 */
export function jsonErrorHandler(logger: Logger): [RequestHandler, ErrorRequestHandler] {
  const notFound: RequestHandler = (req, res) => {
    res.status(404).json({ error: 'NOT_FOUND', message: `no endpoint ${req.method} ${clip(req.path)}` });
  };
  const errors: ErrorRequestHandler = (err: Error & { status?: number; statusCode?: number; type?: string }, req: Request, res: Response, next: NextFunction) => {
    // Too late for an answer of its own (a stream broke midway): let express close the connection.
    if (res.headersSent) return next(err);
    // A route may have relaxed caching (the admin assets); an error is never kept.
    res.setHeader('Cache-Control', 'no-store');
    const status = err.status ?? err.statusCode;
    if (err.type === 'entity.too.large') return void res.status(413).json({ error: 'PAYLOAD_TOO_LARGE', message: err.message });
    if (err.type === 'entity.parse.failed') return void res.status(400).json({ error: 'INVALID_JSON', message: 'the body is not valid JSON' });
    if (err.type === 'encoding.invalid') return void res.status(400).json({ error: 'INVALID_JSON', message: err.message });
    if (err.type === 'charset.unsupported' || err.type === 'encoding.unsupported') return void res.status(415).json({ error: 'UNSUPPORTED_MEDIA_TYPE', message: err.message });
    if (status && status >= 400 && status < 500) {
      // A file the static mount could not serve: its message names the file's absolute path, which
      // no answer ever carries; the request's own path says enough.
      const message = isFilesystemError(err) ? `no file ${req.method} ${clip(req.path)}` : err.message;
      return void res.status(status).json({ error: CLIENT_ERROR_CODES[status] ?? 'BAD_REQUEST', message });
    }
    // Kafka (or Redis) unreachable: nothing was acknowledged, and the same request may be retried
    // (with its Idempotency-Key) once the dependency is back.
    if (isDependencyUnavailable(err)) {
      logger.warn({ err }, 'a dependency is unavailable; answering 503');
      res.setHeader('Retry-After', '1');
      return void res.status(503).json({ error: 'UNAVAILABLE', message: 'Kafka or Redis is unavailable right now; the request may not have been recorded: retry it with the same Idempotency-Key' });
    }
    logger.error({ err }, 'unhandled error in request');
    return void res.status(500).json({ error: 'INTERNAL', message: 'internal error' });
  };
  return [notFound, errors];
}

/** The error code an answer of each client-error status carries: status and body always agree. */
const CLIENT_ERROR_CODES: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  409: 'CONFLICT',
  412: 'PRECONDITION_FAILED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  416: 'RANGE_NOT_SATISFIABLE',
  429: 'TOO_MANY_REQUESTS',
};

const clip = (path: string) => (path.length > 200 ? `${path.slice(0, 200)}…` : path);

function isFilesystemError(err: Error): boolean {
  const { syscall, path } = err as Error & { syscall?: unknown; path?: unknown };
  return typeof syscall === 'string' || typeof path === 'string';
}

function isDependencyUnavailable(err: Error): boolean {
  // kafkajs errors all carry a KafkaJS* name; ioredis gives up with MaxRetriesPerRequestError or
  // "Connection is closed." while Redis restarts.
  return /^KafkaJS/.test(err.name ?? '') || err.name === 'MaxRetriesPerRequestError' || /Connection is closed|ECONNREFUSED|ECONNRESET/.test(err.message ?? '');
}

const HTTP_ERROR_STATUS: Record<string, number> = {
  HPE_HEADER_OVERFLOW: 431,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 413,
};

/**
 * Requests node's HTTP parser refuses before express sees them (a request line or headers past
 * 16 kB, bytes that are not HTTP) would get a bare status line; answer them like any other error:
 * JSON, with the security headers, then close.
 */
function answerUnparsable(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = HTTP_ERROR_STATUS[err.code ?? ''] ?? 400;
  const body = JSON.stringify({
    error: status === 431 ? 'HEADERS_TOO_LARGE' : status === 408 ? 'REQUEST_TIMEOUT' : status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST',
    message: status === 431 ? 'the request line and headers must fit in 16 kB' : status === 408 ? 'the request did not arrive in time' : 'the request is not valid HTTP/1.1',
  });
  const headers = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...SECURITY_HEADERS.map(([name, value]) => `${name}: ${value}`),
  ];
  socket.end(`${headers.join('\r\n')}\r\n\r\n${body}`);
}

export function listen(app: Express, port: number, host = '0.0.0.0'): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, () => resolve(server));
    server.on('clientError', answerUnparsable);
    server.once('error', reject);
  });
}
