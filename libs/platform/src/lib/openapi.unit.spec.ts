import { createHttpApp } from './http';
import { createLogger } from './logging';
import { createMetrics } from './metrics';
import { openApiDocument, openApiMismatches, type Operation } from './openapi';

describe('openApiDocument', () => {
  const document = openApiDocument({
    title: 'test',
    description: 'the platform endpoints and two of its own',
    paths: {
      '/things/{id}': { get: { summary: 'any role', parameters: [{ name: 'id', in: 'path' }], responses: { '200': { description: 'ok' } } } },
      '/things': { post: { summary: 'finance only', 'x-roles': ['finance'], requestBody: {}, responses: { '201': { description: 'made' } } } },
    },
  });
  const op = (path: string, method: 'get' | 'post') => document.paths[path][method] as Operation;

  it('documents exactly what createHttpApp serves for every app (health, readiness, metrics, this document)', () => {
    const platformOnly = openApiDocument({ title: 'platform', description: 'nothing else' });
    const { app } = createHttpApp({
      logger: createLogger('openapi-test', 'silent'),
      metrics: createMetrics('openapi-test'),
      apiKeys: `vic:viewer:${'a'.repeat(64)}`,
      rateLimit: { perMinute: 10, anonymousPerMinute: 10 },
      openApi: platformOnly,
    });
    expect(openApiMismatches(app, platformOnly)).toEqual({ undocumented: [], unrouted: [], pathParameters: [] });
  });

  it('keeps the health checks public and gives every other operation the key, 401 and 429', () => {
    expect(op('/healthz', 'get').security).toEqual([]);
    expect(Object.keys(op('/healthz', 'get').responses)).toEqual(['200']);
    for (const [path, method] of [['/metrics', 'get'], ['/openapi.json', 'get'], ['/things/{id}', 'get']] as const) {
      expect(op(path, method).security).toEqual([{ apiKey: [] }, { bearer: [] }]);
      expect(Object.keys(op(path, method).responses)).toEqual(expect.arrayContaining(['200', '401', '429']));
    }
  });

  it('adds 400 where a path id or parameter can be refused', () => {
    expect(Object.keys(op('/things/{id}', 'get').responses).sort()).toEqual(['200', '400', '401', '429']);
    expect(Object.keys(op('/metrics', 'get').responses).sort()).toEqual(['200', '401', '429']);
  });

  it('adds 403 where not every role may call, and 400/413/415 where a body is parsed', () => {
    expect(Object.keys(op('/things', 'post').responses).sort()).toEqual(['201', '400', '401', '403', '413', '415', '429']);
    expect(op('/things', 'post')['x-roles']).toEqual(['finance']);
  });
});
