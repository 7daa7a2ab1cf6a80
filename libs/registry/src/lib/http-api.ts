import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { parseCompatibilityLevel } from './compatibility';
import { InvalidJsonError, PayloadTooLargeError, RegistryError, RouteNotFoundError, StoreError, StoreTimeoutError } from './errors';
import { basicAuth, type BasicAuthUsers } from './basic-auth';
import type { RegistryService, SchemaRequest } from './registry-service';

export const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';
const BODY_LIMIT = '1mb';

export interface HttpApiOptions {
  service: RegistryService;
  logger: Logger;
  status: () => 'starting' | 'ready' | 'failed';
  // Resolves when the registry has read the topic to its end; requests wait for it.
  whenReady: Promise<void>;
  /** Present: every route but the health checks needs HTTP basic auth from one of these users. */
  users?: BasicAuthUsers;
}

type Handler = (req: Request, res: Response) => unknown;

const flag = (req: Request, name: string) => String(req.query[name] ?? '').toLowerCase() === 'true';

function send(res: Response, status: number, body: unknown): void {
  res.status(status).type(CONTENT_TYPE).send(JSON.stringify(body));
}

function body(req: Request): SchemaRequest & { compatibility?: unknown } {
  return req.body && typeof req.body === 'object' ? (req.body as SchemaRequest & { compatibility?: unknown }) : {};
}

// The Confluent-compatible REST API.
export function createHttpApi({ service, logger, status, whenReady, users }: HttpApiOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    const current = status();
    res.status(current === 'ready' ? 200 : 503).json({ status: current });
  });

  if (users) app.use(basicAuth(users));

  // Clients such as curl send whatever content type they like; the body is JSON either way.
  app.use(express.json({ limit: BODY_LIMIT, type: () => true, strict: false }));
  app.use(async (_req, _res, next) => {
    const current = status();
    if (current === 'ready') return next();
    if (current === 'failed') return next(new StoreError('the registry has stopped reading the schemas topic; restart it'));
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new StoreTimeoutError('the registry is still reading the schemas topic')), 30_000).unref(),
    );
    try {
      await Promise.race([whenReady, timeout]);
      next();
    } catch (err) {
      next(err);
    }
  });

  const route =
    (handler: Handler) =>
    async (req: Request, res: Response, next: NextFunction): Promise<void> => {
      try {
        const result = await handler(req, res);
        if (!res.headersSent) send(res, 200, result);
      } catch (err) {
        next(err);
      }
    };

  app.get('/', route(() => ({})));
  app.get('/schemas/types', route(() => ['AVRO']));
  app.get('/schemas/ids/:id', route((req) => service.schemaById(req.params.id)));
  app.get('/schemas/ids/:id/schema', route((req, res) => res.status(200).type(CONTENT_TYPE).send(service.schemaById(req.params.id).schema)));
  app.get('/schemas/ids/:id/versions', route((req) => service.versionsOfId(req.params.id, flag(req, 'deleted'))));
  app.get('/schemas/ids/:id/subjects', route((req) => service.subjectsOfId(req.params.id, flag(req, 'deleted'))));

  app.get('/subjects', route((req) => service.subjects(flag(req, 'deleted'))));
  app.post('/subjects/:subject', route((req) => service.lookup(req.params.subject, body(req), flag(req, 'deleted'))));
  app.delete('/subjects/:subject', route((req) => service.deleteSubject(req.params.subject, flag(req, 'permanent'))));
  app.get('/subjects/:subject/versions', route((req) => service.versionNumbers(req.params.subject, flag(req, 'deleted'))));
  app.post('/subjects/:subject/versions', route((req) => service.register(req.params.subject, body(req))));
  app.get('/subjects/:subject/versions/:version', route((req) => service.getVersion(req.params.subject, req.params.version, flag(req, 'deleted'))));
  app.get(
    '/subjects/:subject/versions/:version/schema',
    route((req, res) =>
      res.status(200).type(CONTENT_TYPE).send(service.getVersion(req.params.subject, req.params.version, flag(req, 'deleted')).schema),
    ),
  );
  app.delete('/subjects/:subject/versions/:version', route((req) => service.deleteVersion(req.params.subject, req.params.version, flag(req, 'permanent'))));

  const compatibility = (req: Request) => {
    const result = service.checkCompatibility(req.params.subject, req.params.version, body(req));
    return flag(req, 'verbose') ? { is_compatible: result.compatible, messages: result.messages } : { is_compatible: result.compatible };
  };
  app.post('/compatibility/subjects/:subject/versions', route(compatibility));
  app.post('/compatibility/subjects/:subject/versions/:version', route(compatibility));

  app.get('/config', route(() => ({ compatibilityLevel: service.globalConfig() })));
  app.put('/config', route(async (req) => ({ compatibility: await service.setConfig(null, parseCompatibilityLevel(body(req).compatibility)) })));
  app.delete('/config', route(async () => ({ compatibilityLevel: await service.deleteConfig(null) })));
  app.get('/config/:subject', route((req) => ({ compatibilityLevel: service.subjectConfig(req.params.subject, flag(req, 'defaultToGlobal')) })));
  app.put(
    '/config/:subject',
    route(async (req) => ({ compatibility: await service.setConfig(req.params.subject, parseCompatibilityLevel(body(req).compatibility)) })),
  );
  app.delete('/config/:subject', route(async (req) => ({ compatibilityLevel: await service.deleteConfig(req.params.subject) })));

  app.use((req, _res, next) => next(new RouteNotFoundError(req.path)));

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const parserError = err as { type?: string; message?: string };
    let error: unknown = err;
    if (parserError?.type === 'entity.too.large') error = new PayloadTooLargeError(BODY_LIMIT);
    else if (parserError?.type === 'entity.parse.failed') error = new InvalidJsonError(parserError.message ?? 'unparsable');
    if (error instanceof RegistryError) {
      if (error.status >= 500) logger.error({ err: error, method: req.method, path: req.path }, 'request failed');
      send(res, error.status, { error_code: error.errorCode, message: error.message });
      return;
    }
    logger.error({ err, method: req.method, path: req.path }, 'unexpected error in request');
    send(res, 500, { error_code: 500, message: 'Internal Server Error' });
  });
  return app;
}
