import type { Express } from 'express';
import { createLogger, createMetrics } from '@waybill/platform';
import { createLedgerApp } from './app';
import { openApiDocument } from './openapi';
import type { LedgerRouteDeps } from './routes';

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  name?: string;
  handle?: { stack?: Layer[] };
}

function routesOf(stack: Layer[]): string[] {
  return stack.flatMap((layer) => {
    const route = layer.route;
    if (route) return Object.keys(route.methods).map((m) => `${m.toUpperCase()} ${route.path.replace(/:(\w+)/g, '{$1}')}`);
    if (layer.name === 'router' && layer.handle?.stack) return routesOf(layer.handle.stack);
    return [];
  });
}

describe('the OpenAPI document', () => {
  // Routes are only registered here, never called, so the dependencies can stay empty.
  const app: Express = createLedgerApp({} as LedgerRouteDeps, {
    logger: createLogger('ledger-test', 'silent'),
    metrics: createMetrics('ledger-test'),
    rateLimit: { perMinute: 100, anonymousPerMinute: 100 },
    apiKeys: `vic:viewer:${'a'.repeat(64)}`,
    readiness: [],
  });
  const routes = routesOf((app as unknown as { _router: { stack: Layer[] } })._router.stack).sort();
  const documented = Object.entries(openApiDocument().paths)
    .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
    .sort();

  it('documents every express route', () => {
    expect(routes.length).toBeGreaterThan(10);
    expect(routes.filter((r) => !documented.includes(r))).toEqual([]);
  });

  it('documents no route that does not exist', () => {
    expect(documented.filter((d) => !routes.includes(d))).toEqual([]);
  });

  it('names the path parameters of every path', () => {
    for (const [path, ops] of Object.entries(openApiDocument().paths)) {
      for (const op of Object.values(ops) as Array<{ parameters?: Array<{ name: string; in: string }> }>) {
        const pathParams = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
        expect((op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name)).toEqual(pathParams);
      }
    }
  });
});
