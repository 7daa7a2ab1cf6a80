import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Express } from 'express';
import { createHttpApp, createLogger, createMetrics, openApiDocument, ROLES } from '@waybill/platform';
import { accountingRoutes } from '../../apps/accounting-handler/src/http/routes';
import type { AccountingService } from '../../apps/accounting-handler/src/accounting-service';
import type { BalanceClient } from '../../apps/accounting-handler/src/balance-client';
import type { BalanceReads } from '../../apps/account-reducer/src/balance-reads';
import { balanceRoutes } from '../../apps/account-reducer/src/http/routes';
import { createLedgerApp } from '../../apps/ledger/src/http/app';
import type { LedgerRouteDeps } from '../../apps/ledger/src/http/routes';
import type { OperationsSource } from '../../apps/ledger/src/ops/operations-view';
import { shipmentRoutes } from '../../apps/shipment-handler/src/http/routes';
import type { CommandService } from '../../apps/shipment-handler/src/command-service';
import { observationRoutes } from '../../apps/shipment-handler/src/http/observation-routes';
import type { ObservationService } from '../../apps/shipment-handler/src/observation-service';
import { apiKeysSpec, DEMO_KEYS } from '@waybill/devstack';
import { APP_NAMES, PERMISSIONS, README_MARKERS, readmePermissionsTable, renderPermissionsTable, ROLE_COLUMNS } from './security-permissions';

// The permission table has one source, test/faults/security-permissions.ts: README.md shows it,
// the apps register exactly its routes, and security.faults.spec.ts checks every cell.

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  name?: string;
  handle?: { stack?: Layer[]; name?: string };
}

function routesOf(app: Express): { routes: string[]; layers: Layer[] } {
  const layers: Layer[] = [];
  const walk = (stack: Layer[]): string[] =>
    stack.flatMap((layer) => {
      layers.push(layer);
      if (layer.route) return Object.keys(layer.route.methods).map((m) => `${m.toUpperCase()} ${layer.route!.path}`);
      if (layer.name === 'router' && layer.handle?.stack) return walk(layer.handle.stack);
      return [];
    });
  const routes = walk((app as unknown as { _router: { stack: Layer[] } })._router.stack);
  return { routes: [...new Set(routes)].sort(), layers };
}

const options = () => ({
  logger: createLogger('permissions-test', 'silent'),
  metrics: createMetrics('permissions-test'),
  apiKeys: `vic:viewer:${'a'.repeat(64)}`,
  readiness: [],
  rateLimit: { perMinute: 10, anonymousPerMinute: 10 },
  openApi: openApiDocument({ title: 'permissions-test', description: 'the platform endpoints' }),
});

/** Each app's express app with its routes registered (never called, so the services stay empty). */
function appsUnderTest(): Record<'every app' | 'shipment-handler' | 'accounting-handler' | 'account-reducer' | 'ledger', Express> {
  const platform = createHttpApp(options()).app;
  const shipment = createHttpApp(options());
  shipment.app.use(shipment.authenticated, shipmentRoutes({} as CommandService), observationRoutes({} as ObservationService));
  const accounting = createHttpApp(options());
  accounting.app.use(accounting.authenticated, accountingRoutes({} as AccountingService, {} as BalanceClient));
  const balances = createHttpApp(options());
  balances.app.use(balances.authenticated, balanceRoutes({} as BalanceReads, { waitForTimeoutMs: 0 }));
  const ledger = createLedgerApp({} as LedgerRouteDeps, { ...options(), admin: { shipmentHandlerUrl: 'http://127.0.0.1:1', logger: createLogger('permissions-test', 'silent') }, ops: {} as OperationsSource });
  return { 'every app': platform, 'shipment-handler': shipment.app, 'accounting-handler': accounting.app, 'account-reducer': balances.app, ledger };
}

describe('the permission table', () => {
  it('is what README.md shows, between its markers', () => {
    const shown = readmePermissionsTable();
    if (shown === undefined) throw new Error(`README.md has no ${README_MARKERS.BEGIN} … ${README_MARKERS.END} section`);
    expect(shown).toBe(renderPermissionsTable());
  });

  it('has one column per role the platform knows, and only those', () => {
    expect([...ROLE_COLUMNS]).toEqual([...ROLES]);
    for (const rule of PERMISSIONS) expect(Object.keys(rule.access).sort()).toEqual([...ROLE_COLUMNS].sort());
  });

  it('names every endpoint once; a public endpoint is open to every role', () => {
    const ids = PERMISSIONS.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const rule of PERMISSIONS.filter((r) => r.public)) expect(Object.values(rule.access)).toEqual(ROLE_COLUMNS.map(() => 'allow'));
  });

  it('has a row for every route each app registers, and no row for a route that does not exist', () => {
    const apps = appsUnderTest();
    const platform = routesOf(apps['every app']).routes;
    expect(platform).toEqual(['GET /healthz', 'GET /metrics', 'GET /openapi.json', 'GET /readyz']);
    for (const [name, app] of Object.entries(apps)) {
      const registered = routesOf(app).routes.filter((r) => name === 'every app' || !platform.includes(r));
      const tabled = [...new Set(PERMISSIONS.filter((r) => r.app === name && !r.static).map((r) => `${r.method} ${r.path}`))].sort();
      expect([name, registered]).toEqual([name, tabled]);
    }
    // The static mounts: the admin page's assets and the operations page's.
    const statics = routesOf(apps.ledger).layers.filter((l) => l.name === 'serveStatic' || l.handle?.name === 'serveStatic');
    expect(statics.length).toBe(PERMISSIONS.filter((r) => r.static).length);
  });

  it('covers the apps without routes of their own: their wiring adds only the platform endpoints', () => {
    for (const app of APP_NAMES.filter((a) => !['shipment-handler', 'accounting-handler', 'account-reducer', 'ledger'].includes(a))) {
      const wiring = readFileSync(join(__dirname, '..', '..', 'apps', app, 'src', 'wiring.ts'), 'utf8');
      expect([app, wiring.match(/\b(app|router)\.(get|post|put|patch|delete|all)\(/g) ?? []]).toEqual([app, []]);
      expect(wiring).toContain('createHttpApp(');
    }
  });
});

describe('every app’s configuration', () => {
  const minimal = { KAFKA_BROKERS: 'localhost:9092', SCHEMA_REGISTRY_URL: 'http://localhost:8081', REDIS_URL: 'redis://localhost:6379', API_KEYS: apiKeysSpec() };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const schemaOf = (app: string) => require(join(__dirname, '..', '..', 'apps', app, 'src', 'config.ts')).configSchema as import('zod').ZodTypeAny;

  it.each([...APP_NAMES])('%s: rate limits default to 6000 a minute per key and 600 per address without one', (app) => {
    const config = schemaOf(app).parse(minimal);
    expect([config.RATE_LIMIT_PER_MINUTE, config.RATE_LIMIT_ANONYMOUS_PER_MINUTE]).toEqual([6000, 600]);
    expect(schemaOf(app).parse({ ...minimal, RATE_LIMIT_PER_MINUTE: '12', RATE_LIMIT_ANONYMOUS_PER_MINUTE: '3' })).toMatchObject({ RATE_LIMIT_PER_MINUTE: 12, RATE_LIMIT_ANONYMOUS_PER_MINUTE: 3 });
    expect(schemaOf(app).safeParse({ ...minimal, RATE_LIMIT_PER_MINUTE: '0' }).success).toBe(false);
  });

  it.each([...APP_NAMES])('%s: API_KEYS takes hashes only, never a key in clear', (app) => {
    const inClear = schemaOf(app).safeParse({ ...minimal, API_KEYS: DEMO_KEYS.map((k) => `${k.principal}:${k.role}:${k.key}`).join(',') });
    expect(inClear.success).toBe(false);
    if (!inClear.success) expect(inClear.error.issues.map((i) => i.path.join('.'))).toContain('API_KEYS');
  });
});
