import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// THE permission table: which role may call which endpoint. README.md's "Permissions" section is
// rendered from it (security-permissions.unit.spec.ts fails when the two differ, and when an app
// registers a route this table does not have), and security.faults.spec.ts calls every endpoint
// with every role and expects exactly what it says.

export const ROLE_COLUMNS = ['viewer', 'associate', 'team-lead', 'supervisor', 'finance', 'integration'] as const;
export type RoleName = (typeof ROLE_COLUMNS)[number];

/** allow: answered; deny: 403 FORBIDDEN; deny+alert: 403 and an alert on shipment.outcomes. */
export type Access = 'allow' | 'deny' | 'deny+alert';

export const APP_NAMES = ['shipment-handler', 'accounting-handler', 'ledger', 'shipment-reducer', 'accounting-listener', 'accounting-command-listener', 'account-reducer'] as const;
export type AppName = (typeof APP_NAMES)[number];

export interface EndpointRule {
  /** Unique; the security suite's probes are keyed by it. */
  id: string;
  /** `every app` for the platform endpoints of `createHttpApp`. */
  app: AppName | 'every app';
  method: 'GET' | 'POST';
  /** The express route path. */
  path: string;
  /** When one route has different rules by body, e.g. `type CorrectStatus`. */
  variant?: string;
  /** No key needed (and none checked). */
  public?: boolean;
  /** Served by `express.static` rather than a route. */
  static?: boolean;
  access: Record<RoleName, Access>;
}

const all: Record<RoleName, Access> = { viewer: 'allow', associate: 'allow', 'team-lead': 'allow', supervisor: 'allow', finance: 'allow', integration: 'allow' };
const operators: Record<RoleName, Access> = { viewer: 'deny', associate: 'allow', 'team-lead': 'allow', supervisor: 'allow', finance: 'deny', integration: 'deny' };
// Operators other than supervisors are refused *and* raise an alert supervisors must see.
const correction: Record<RoleName, Access> = { viewer: 'deny', associate: 'deny+alert', 'team-lead': 'deny+alert', supervisor: 'allow', finance: 'deny', integration: 'deny' };
const finance: Record<RoleName, Access> = { viewer: 'deny', associate: 'deny', 'team-lead': 'deny', supervisor: 'deny', finance: 'allow', integration: 'deny' };
const leads: Record<RoleName, Access> = { viewer: 'deny', associate: 'deny', 'team-lead': 'allow', supervisor: 'allow', finance: 'deny', integration: 'deny' };
// A system of record's feed reports facts; no person's key may put words in its mouth.
const integrations: Record<RoleName, Access> = { viewer: 'deny', associate: 'deny', 'team-lead': 'deny', supervisor: 'deny', finance: 'deny', integration: 'allow' };

const rule = (app: EndpointRule['app'], method: EndpointRule['method'], path: string, access: Record<RoleName, Access>, extra: Partial<EndpointRule> = {}): EndpointRule => ({
  id: `${app} ${method} ${path}${extra.variant ? ` (${extra.variant})` : ''}`,
  app,
  method,
  path,
  access,
  ...extra,
});

export const PERMISSIONS: readonly EndpointRule[] = [
  rule('every app', 'GET', '/healthz', all, { public: true }),
  rule('every app', 'GET', '/readyz', all, { public: true }),
  rule('every app', 'GET', '/metrics', all),
  rule('every app', 'GET', '/openapi.json', all),

  rule('shipment-handler', 'POST', '/shipments', operators),
  rule('shipment-handler', 'POST', '/shipments/:shipmentId/commands', operators, { variant: 'lifecycle commands' }),
  rule('shipment-handler', 'POST', '/shipments/:shipmentId/commands', correction, { variant: 'type CorrectStatus' }),
  rule('shipment-handler', 'POST', '/shipments/:shipmentId/observations', integrations),
  rule('shipment-handler', 'GET', '/commands/:commandId', all),

  rule('accounting-handler', 'POST', '/accounts/:accountId/payments', finance),
  rule('accounting-handler', 'POST', '/accounts/:accountId/adjustments', finance),
  rule('accounting-handler', 'GET', '/commands/:commandId', all),
  rule('accounting-handler', 'GET', '/accounts/:accountId', all),
  rule('accounting-handler', 'GET', '/accounts/:accountId/transactions', all),

  rule('account-reducer', 'GET', '/accounts/:accountId', all),
  rule('account-reducer', 'GET', '/accounts/:accountId/transactions', all),

  rule('ledger', 'GET', '/shipments', all),
  rule('ledger', 'GET', '/stats/status-counts', all),
  rule('ledger', 'GET', '/shipments/:id', all),
  rule('ledger', 'GET', '/shipments/:id/events', all),
  rule('ledger', 'GET', '/shipments/:id/diff', all),
  rule('ledger', 'GET', '/events', all),
  rule('ledger', 'GET', '/events/:eventId', all),
  rule('ledger', 'GET', '/traces/:traceId', all),
  rule('ledger', 'GET', '/alerts', all),
  rule('ledger', 'GET', '/alerts/stream', all),
  rule('ledger', 'POST', '/alerts/:id/ack', leads),
  rule('ledger', 'GET', '/accounts/:id', all),
  rule('ledger', 'GET', '/accounts/:id/transactions', all),
  rule('ledger', 'GET', '/admin', all, { public: true }),
  rule('ledger', 'GET', '/admin/index.html', all, { public: true }),
  rule('ledger', 'GET', '/admin/assets/*', all, { public: true, static: true }),
  rule('ledger', 'GET', '/admin/whoami', all),
  rule('ledger', 'GET', '/admin/config.json', all),
  rule('ledger', 'GET', '/admin/state-machine.json', all),
  rule('ledger', 'POST', '/admin/api/shipments/:id/correct-status', correction),
  rule('ledger', 'GET', '/admin/ops', all, { public: true }),
  rule('ledger', 'GET', '/admin/ops/assets/*', all, { public: true, static: true }),
  rule('ledger', 'GET', '/admin/api/ops', leads),
];

const CELL: Record<Access, string> = { allow: '✓', deny: '403', 'deny+alert': '403 + alert' };

/** The README section's table, one row per endpoint, one column per role. */
export function renderPermissionsTable(rules: readonly EndpointRule[] = PERMISSIONS): string {
  const lines = [`| endpoint | app | no key | ${ROLE_COLUMNS.join(' | ')} |`, `| --- | --- | --- | ${ROLE_COLUMNS.map(() => '---').join(' | ')} |`];
  for (const r of rules) {
    const endpoint = `\`${r.method} ${r.path}\`${r.variant ? ` (${r.variant})` : ''}`;
    const noKey = r.public ? '✓' : '401';
    lines.push(`| ${endpoint} | ${r.app} | ${noKey} | ${ROLE_COLUMNS.map((role) => CELL[r.access[role]]).join(' | ')} |`);
  }
  return lines.join('\n');
}

export const README = join(__dirname, '..', '..', 'README.md');
const BEGIN = '<!-- permissions:begin (rendered from test/faults/security-permissions.ts) -->';
const END = '<!-- permissions:end -->';

/** The table as README.md has it (between its markers), or undefined when the section is missing. */
export function readmePermissionsTable(readme = readFileSync(README, 'utf8')): string | undefined {
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) return undefined;
  return readme.slice(start + BEGIN.length, end).trim();
}

/** The markers the README section keeps the table between. */
export const README_MARKERS = { BEGIN, END } as const;
