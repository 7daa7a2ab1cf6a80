import type { Express, Router } from 'express';
import { schema as s, type JsonSchema } from '@waybill/util';
import { ROLES, type Role } from './auth';

// Every app serves its OpenAPI 3 description at `GET /openapi.json` (`createHttpApp`'s `openApi`),
// built here: the endpoints every app has, the components every app shares (the error body, the
// API-key security schemes, a position on a topic), and the answers the platform gives on every
// route (401 without a valid key, 403 for a role the route does not take, 429 past the rate
// limit, 413/415/400 for a body the JSON parser refuses). Each app adds its own paths.

export type HttpMethod = 'get' | 'post';

/** One operation. `x-roles`: the roles that may call it (every role when left out); a narrower list adds the 403. */
export interface Operation {
  summary: string;
  operationId?: string;
  description?: string;
  parameters?: unknown[];
  requestBody?: unknown;
  responses: Record<string, unknown>;
  /** `[]` for a public operation (no key, no rate limit); the API key or a bearer token otherwise. */
  security?: unknown[];
  'x-roles'?: readonly Role[];
}

export type Paths = Record<string, Partial<Record<HttpMethod, Operation>>>;

export interface ApiDescription {
  title: string;
  description: string;
  /** Component schemas beside the shared ones (Error, FieldError, RateLimited, Position, Health, Readiness). */
  schemas?: Record<string, JsonSchema>;
  /** The app's own paths, OpenAPI style (`/shipments/{id}`). */
  paths?: Paths;
}

export interface OpenApiDocument {
  openapi: '3.0.3';
  info: { title: string; version: string; description: string };
  components: { securitySchemes: Record<string, unknown>; schemas: Record<string, JsonSchema> };
  paths: Paths;
}

/** A JSON answer. */
export const jsonAnswer = (description: string, body: JsonSchema, extra: Record<string, unknown> = {}) => ({ description, ...extra, content: { 'application/json': { schema: body } } });
/** An error answer: `{ error, message, fieldErrors?, param? }`. */
export const errorAnswer = (description: string, extra: Record<string, unknown> = {}) => jsonAnswer(description, s.ref('Error'), extra);

const retryAfter = { 'Retry-After': { description: 'Seconds to wait before trying again.', schema: s.int } };

/** 503 UNAVAILABLE: Kafka, Redis or an app this one calls is away; nothing was acknowledged, retry. */
export const UNAVAILABLE = { '503': errorAnswer('UNAVAILABLE: Kafka, Redis or an app it calls is away right now; nothing was acknowledged: retry (with the same Idempotency-Key).', { headers: retryAfter }) };

/** A path, query or header parameter (path parameters are required). */
export function param(name: string, where: 'path' | 'query' | 'header', description: string, schema: JsonSchema = s.str, required = where === 'path') {
  return { name, in: where, required, description, schema };
}

const PLATFORM_SCHEMAS: Record<string, JsonSchema> = {
  FieldError: s.obj({ field: s.str, message: s.str }),
  Error: s.obj({ error: s.str, message: s.str, fieldErrors: s.arrayOf(s.ref('FieldError')), param: s.str }, ['error', 'message']),
  RateLimited: { allOf: [s.ref('Error'), s.obj({ retryAfterSeconds: s.int })] },
  Position: s.obj({ topic: s.str, partition: s.int, offset: { type: 'string', pattern: '^[0-9]+$' } }),
  Health: s.obj({ status: s.oneOf(['ok']) }),
  Readiness: s.obj({ status: s.oneOf(['ready', 'not ready']), checks: s.arrayOf(s.obj({ name: s.str, ok: s.bool })) }),
};

const PLATFORM_PATHS: Paths = {
  '/healthz': { get: { summary: 'Liveness (no key, never rate-limited).', operationId: 'health', security: [], responses: { '200': jsonAnswer('Alive.', s.ref('Health')) } } },
  '/readyz': {
    get: {
      summary: 'Readiness: every dependency this app needs answers (no key, never rate-limited).',
      operationId: 'readiness',
      security: [],
      responses: { '200': jsonAnswer('Ready.', s.ref('Readiness')), '503': jsonAnswer('Not ready: the checks say which dependency is missing.', s.ref('Readiness')) },
    },
  },
  '/metrics': { get: { summary: 'Prometheus metrics.', operationId: 'metrics', responses: { '200': { description: 'The text exposition format.', content: { 'text/plain': { schema: s.str } } } } } },
  '/openapi.json': { get: { summary: 'This document (OpenAPI 3).', operationId: 'openApi', responses: { '200': jsonAnswer('The OpenAPI document.', { type: 'object' }) } } },
};

/** Adds what the platform answers on every route that needs a key, and on every route with a body. */
function withPlatformAnswers(op: Operation): Operation {
  if (op.security && op.security.length === 0) return op;
  const roles = op['x-roles'] ?? ROLES;
  const responses: Record<string, unknown> = {
    ...op.responses,
    '401': op.responses['401'] ?? errorAnswer('UNAUTHENTICATED: no API key, or one this app does not know.'),
    '429': op.responses['429'] ?? jsonAnswer('Past the rate limit of this key (or of this address without a valid key).', s.ref('RateLimited'), { headers: retryAfter }),
  };
  if (roles.length < ROLES.length) responses['403'] ??= errorAnswer(`FORBIDDEN: only ${roles.join(', ')} may do this.`);
  // Every app refuses a path or query that is not percent-encoded UTF-8, and ids or text holding
  // control characters, before or in its routes: any operation with parameters can answer 400.
  if (op.parameters?.length) responses['400'] ??= errorAnswer('BAD_REQUEST naming `param`: a path id or parameter is not valid percent-encoded UTF-8, holds characters it may not, or is out of range.');
  if (op.requestBody) {
    responses['400'] ??= errorAnswer('The body is not valid JSON, or a field is invalid.');
    responses['413'] ??= errorAnswer('PAYLOAD_TOO_LARGE: the body is over BODY_LIMIT.');
    responses['415'] ??= errorAnswer('UNSUPPORTED_MEDIA_TYPE: a charset or content encoding the JSON parser does not take.');
  }
  return { ...op, security: op.security ?? [{ apiKey: [] }, { bearer: [] }], 'x-roles': roles, responses };
}

/** The OpenAPI document of one app: its own paths and schemas beside the platform's. */
export function openApiDocument(api: ApiDescription): OpenApiDocument {
  const paths: Paths = {};
  for (const [path, ops] of Object.entries({ ...PLATFORM_PATHS, ...api.paths })) {
    paths[path] = Object.fromEntries(Object.entries(ops).map(([method, op]) => [method, withPlatformAnswers(op as Operation)]));
  }
  return {
    openapi: '3.0.3',
    info: { title: api.title, version: '0.1.0', description: api.description },
    components: {
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        bearer: { type: 'http', scheme: 'bearer', description: 'The same API key as a bearer token.' },
      },
      schemas: { ...PLATFORM_SCHEMAS, ...api.schemas },
    },
    paths,
  };
}

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  name?: string;
  handle?: { stack?: Layer[] };
}

/** Every `METHOD /path` an express app or router registers, nested routers included, with `:id` written `{id}`. */
export function expressRoutes(app: Express | Router): string[] {
  const walk = (stack: Layer[]): string[] =>
    stack.flatMap((layer) => {
      const route = layer.route;
      if (route) return Object.keys(route.methods).map((m) => `${m.toUpperCase()} ${route.path.replace(/:(\w+)/g, '{$1}')}`);
      if (layer.name === 'router' && layer.handle?.stack) return walk(layer.handle.stack);
      return [];
    });
  const stack = (app as unknown as { _router?: { stack: Layer[] } })._router?.stack ?? (app as unknown as { stack: Layer[] }).stack;
  return [...new Set(walk(stack))].sort();
}

const PLATFORM_OPERATIONS = Object.keys(PLATFORM_PATHS).map((path) => `GET ${path}`);

/**
 * How a document and the routes serving it differ (a unit test per app expects none): routes it
 * does not document, operations no route serves, and operations whose path parameters are not the
 * ones their path names. Given an app's own router rather than its whole express app, the
 * platform's endpoints (which `createHttpApp` adds) are left out of the comparison.
 */
export function openApiMismatches(routes: Express | Router, document: OpenApiDocument): { undocumented: string[]; unrouted: string[]; pathParameters: string[] } {
  const served = expressRoutes(routes);
  const wholeApp = served.includes('GET /healthz');
  const operations = Object.entries(document.paths)
    .flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`))
    .filter((op) => wholeApp || !PLATFORM_OPERATIONS.includes(op));
  const pathParameters = Object.entries(document.paths).flatMap(([path, ops]) =>
    Object.entries(ops).flatMap(([method, op]) => {
      const named = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const declared = ((op as Operation).parameters ?? []).filter((p): p is { in: string; name: string } => (p as { in?: string }).in === 'path').map((p) => p.name);
      return named.join(',') === declared.join(',') ? [] : [`${method.toUpperCase()} ${path}: declares ${declared.join(', ') || 'none'}`];
    }),
  );
  return { undocumented: served.filter((r) => !operations.includes(r)), unrouted: operations.filter((o) => !served.includes(o)).sort(), pathParameters };
}
