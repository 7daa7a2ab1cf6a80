import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/browser';
import { DEMO_KEYS, apiKeysSpec } from '@waybill/devstack';
import { authenticate, hashApiKey, parseApiKeys, ROLES } from '@waybill/platform';
import { key, newShipment, pipeline, root, type Pipeline } from '../support/pipeline';
import { APP_NAMES, PERMISSIONS, ROLE_COLUMNS, type AppName, type EndpointRule, type RoleName } from './security-permissions';
import { eventually, expectClientError, InjectionReport, rawHttp, securityHeaderProblems, send, type Answer, type App } from './support-security';

// Authorization, authentication and hardening, proven against the real apps on the shared test
// Kafka, Redis and registry: every endpoint × every role (and no key, an unknown key) against the
// permission table in security-permissions.ts (README.md's "Permissions"); `initiatedBy` taken
// from the key, never the body; keys held as hashes and compared in constant time; per-key rate
// limits with Retry-After; security headers on every answer; and the admin page showing
// script-bearing event data as text without running it.

const report = new InjectionReport('security: what was injected and what was checked');
type Caller = RoleName | 'no key' | 'unknown key';
const CALLERS: readonly Caller[] = ['no key', 'unknown key', ...ROLE_COLUMNS];
const label = (caller: Caller) => caller.replace(/ /g, '-');

interface Probe {
  method: string;
  path: string;
  body?: unknown;
  /** Statuses that mean "let through" (what the endpoint answers a permitted caller). */
  ok: number[];
  /** A server-sent event stream: read the head only. */
  stream?: boolean;
  /** The admin page and its assets cache by design (no `no-store`). */
  page?: boolean;
}

describe('security: permissions, keys, rate limits, headers, script injection', () => {
  let p: Pipeline;
  const apps = {} as Record<AppName, App>;
  let limited: App;
  /** Every answer any test here got, for the security-header sweep at the end. */
  const seen: Answer[] = [];
  const hit = async (app: { url: string }, method: string, path: string, options: Parameters<typeof send>[3] = {}) => {
    const answer = await send(app, method, path, options);
    seen.push(answer);
    return answer;
  };
  const ctx = {
    shipmentCommandId: '',
    accountingCommandId: '',
    eventId: '',
    traceId: '',
    alertId: '',
    asset: '',
    opsAsset: '',
    created: [] as Array<{ id: string; by: Caller; allowed: boolean }>,
  };

  async function command(id: string, role: string, type: string, data: object = {}, headers: Record<string, string> = {}) {
    const res = await hit(apps['shipment-handler'], 'POST', `/shipments/${id}/commands`, { role, body: { type, data }, headers });
    return res;
  }
  async function create(id: string, role = 'associate', body: object = newShipment(id), headers: Record<string, string> = {}) {
    const res = await hit(apps['shipment-handler'], 'POST', '/shipments', { role, body: { ...body, shipmentId: id }, headers });
    expect([id, res.status]).toEqual([id, 201]);
    return res;
  }
  async function ship(id: string, extra: { carrier?: string; trackingNumber?: string; headers?: Record<string, string> } = {}) {
    const steps: Array<[string, string, object]> = [
      ['team-lead', 'ReleaseForPicking', {}],
      ['associate', 'PickItem', { sku: 'SKU-A', quantity: 2 }],
      ['associate', 'PickItem', { sku: 'SKU-B', quantity: 1 }],
      ['associate', 'CompletePicking', {}],
      ['associate', 'Pack', { packageCount: 2 }],
      ['team-lead', 'MarkReadyForShipping', {}],
      ['associate', 'Ship', { carrier: extra.carrier ?? 'DHL', trackingNumber: extra.trackingNumber ?? `TRK-${id}` }],
    ];
    for (const [role, type, data] of steps) {
      const res = await command(id, role, type, data, extra.headers);
      expect([id, type, res.status]).toEqual([id, type, 200]);
    }
  }
  const ledgerHas = (path: string, ok: (a: Answer) => boolean = (a) => a.status === 200) =>
    eventually(`ledger ${path}`, () => send(apps.ledger, 'GET', path, { role: 'viewer' }), ok);

  beforeAll(async () => {
    p = await pipeline('security');
    const started = await Promise.all([p.start('shipment-reducer'), p.start('accounting-listener'), p.start('accounting-command-listener'), p.start('account-reducer')]);
    [apps['shipment-reducer'], apps['accounting-listener'], apps['accounting-command-listener'], apps['account-reducer']] = started;
    [apps['shipment-handler'], apps['accounting-handler']] = await Promise.all([
      p.start('shipment-handler', { OUTCOME_WAIT_MS: '15000' }),
      p.start('accounting-handler', { OUTCOME_WAIT_MS: '15000' }),
    ]);
    [apps.ledger, limited] = await Promise.all([
      p.start('ledger', { SHIPMENT_HANDLER_URL: apps['shipment-handler'].url }),
      // A second shipment-handler with tiny limits, for the 429s (its own outcome group: no rebalance).
      p.start('shipment-handler', { OUTCOME_WAIT_MS: '15000', RATE_LIMIT_PER_MINUTE: '8', RATE_LIMIT_ANONYMOUS_PER_MINUTE: '4' }),
    ]);

    // An account (opened by a shipped shipment's charge), targets for every caller's commands and
    // corrections, and one alert to acknowledge.
    await create('SEC-SHIP', 'associate', { ...newShipment('SEC-SHIP'), customerAccountId: 'ACC-SEC' });
    await ship('SEC-SHIP');
    await eventually('the charge on ACC-SEC', () => send(apps['accounting-handler'], 'GET', '/accounts/ACC-SEC', { role: 'finance' }), (a) => a.status === 200);
    for (const caller of CALLERS) for (const kind of ['REL', 'COR', 'PRX']) await create(`SEC-${kind}-${label(caller)}`);
    ctx.shipmentCommandId = (await create('SEC-CMD')).json.commandId;
    const paid = await hit(apps['accounting-handler'], 'POST', '/accounts/ACC-SEC/payments', { role: 'finance', body: { amountMinor: 100, currency: 'EUR', reference: 'setup' } });
    expect(paid.status).toBe(201);
    ctx.accountingCommandId = paid.json.commandId;
    expect((await command('SEC-CMD', 'team-lead', 'PickItem', { sku: 'SKU-A', quantity: 1 })).json).toMatchObject({ error: 'INVALID_TRANSITION', alert: true });
    const alerts = await ledgerHas('/alerts', (a) => a.status === 200 && a.json.items.some((i: { shipmentId: string }) => i.shipmentId === 'SEC-CMD'));
    ctx.alertId = alerts.json.items.find((i: { shipmentId: string }) => i.shipmentId === 'SEC-CMD').id;
    const events = await ledgerHas('/shipments/SEC-SHIP/events', (a) => a.status === 200 && a.json.items.length === 8);
    ctx.eventId = events.json.items[0].eventId;
    ctx.traceId = events.json.items[0].traceId;
    await ledgerHas('/accounts/ACC-SEC');
    ctx.asset = /src="(assets\/main-[A-Za-z0-9]+\.js)"/.exec((await send(apps.ledger, 'GET', '/admin/')).text)?.[1] ?? 'assets/missing.js';
    ctx.opsAsset = /src="(assets\/ops-[A-Za-z0-9]+\.js)"/.exec((await send(apps.ledger, 'GET', '/admin/ops/')).text)?.[1] ?? 'assets/missing.js';
  }, 240_000);

  afterAll(async () => {
    report.print();
    await p?.close();
  });

  /** What a permitted caller sends to each endpoint, and what it gets back. */
  function probe(rule: EndpointRule, caller: Caller): Probe {
    const who = label(caller);
    switch (rule.id) {
      case 'every app GET /healthz':
      case 'every app GET /readyz':
      case 'every app GET /metrics':
      case 'every app GET /openapi.json':
        return { method: 'GET', path: rule.path, ok: [200] };
      case 'shipment-handler POST /shipments': {
        const id = `SEC-NEW-${who}`;
        ctx.created.push({ id, by: caller, allowed: caller !== 'no key' && caller !== 'unknown key' && rule.access[caller] === 'allow' });
        return { method: 'POST', path: '/shipments', body: newShipment(id), ok: [201] };
      }
      case 'shipment-handler POST /shipments/:shipmentId/commands (lifecycle commands)':
        return { method: 'POST', path: `/shipments/SEC-REL-${who}/commands`, body: { type: 'ReleaseForPicking' }, ok: [200] };
      case 'shipment-handler POST /shipments/:shipmentId/commands (type CorrectStatus)':
        return { method: 'POST', path: `/shipments/SEC-COR-${who}/commands`, body: { type: 'CorrectStatus', data: { toStatus: 'Cancelled', reason: 'security probe' } }, ok: [200] };
      case 'shipment-handler POST /shipments/:shipmentId/observations':
        return {
          method: 'POST',
          path: `/shipments/SEC-OBS-${who}/observations`,
          body: { source: 'security-probe', sourceId: `probe-${who}`, observedBy: 'Probe', kind: 'StatusChanged', toStatus: 'Packed', occurredAt: '2026-12-01T15:22:00Z' },
          ok: [200],
        };
      case 'shipment-handler GET /commands/:commandId':
        return { method: 'GET', path: `/commands/${ctx.shipmentCommandId}`, ok: [200, 201] };
      case 'accounting-handler POST /accounts/:accountId/payments':
        return { method: 'POST', path: '/accounts/ACC-SEC/payments', body: { amountMinor: 10, currency: 'EUR', reference: `probe ${who}` }, ok: [201] };
      case 'accounting-handler POST /accounts/:accountId/adjustments':
        return { method: 'POST', path: '/accounts/ACC-SEC/adjustments', body: { amountMinor: 5, currency: 'EUR', reason: `probe ${who}` }, ok: [201] };
      case 'accounting-handler GET /commands/:commandId':
        return { method: 'GET', path: `/commands/${ctx.accountingCommandId}`, ok: [200, 201] };
      case 'accounting-handler GET /accounts/:accountId':
      case 'account-reducer GET /accounts/:accountId':
        return { method: 'GET', path: '/accounts/ACC-SEC', ok: [200] };
      case 'accounting-handler GET /accounts/:accountId/transactions':
      case 'account-reducer GET /accounts/:accountId/transactions':
        return { method: 'GET', path: '/accounts/ACC-SEC/transactions', ok: [200] };
      case 'ledger GET /shipments/:id':
      case 'ledger GET /shipments/:id/events':
        return { method: 'GET', path: rule.path.replace(':id', 'SEC-SHIP'), ok: [200] };
      case 'ledger GET /shipments/:id/diff':
        return { method: 'GET', path: '/shipments/SEC-SHIP/diff?from=2020-01-01T00:00:00Z&to=2100-01-01T00:00:00Z', ok: [200] };
      case 'ledger GET /events/:eventId':
        return { method: 'GET', path: `/events/${ctx.eventId}`, ok: [200] };
      case 'ledger GET /traces/:traceId':
        return { method: 'GET', path: `/traces/${ctx.traceId}`, ok: [200] };
      case 'ledger GET /alerts/stream':
        return { method: 'GET', path: '/alerts/stream', ok: [200], stream: true };
      case 'ledger POST /alerts/:id/ack':
        return { method: 'POST', path: `/alerts/${ctx.alertId}/ack`, ok: [200] };
      case 'ledger GET /accounts/:id':
      case 'ledger GET /accounts/:id/transactions':
        return { method: 'GET', path: rule.path.replace(':id', 'ACC-SEC'), ok: [200] };
      case 'ledger GET /admin':
        return { method: 'GET', path: '/admin/', ok: [200], page: true };
      case 'ledger GET /admin/index.html':
        return { method: 'GET', path: '/admin/index.html', ok: [200], page: true };
      case 'ledger GET /admin/assets/*':
        return { method: 'GET', path: `/admin/${ctx.asset}`, ok: [200], page: true };
      case 'ledger GET /admin/ops':
        return { method: 'GET', path: '/admin/ops/', ok: [200], page: true };
      case 'ledger GET /admin/ops/assets/*':
        return { method: 'GET', path: `/admin/ops/${ctx.opsAsset}`, ok: [200], page: true };
      case 'ledger POST /admin/api/shipments/:id/correct-status':
        return { method: 'POST', path: `/admin/api/shipments/SEC-PRX-${who}/correct-status`, body: { toStatus: 'Cancelled', reason: 'security probe' }, ok: [200] };
      default:
        if (rule.app === 'ledger' && rule.method === 'GET' && !rule.path.includes(':')) return { method: 'GET', path: rule.path, ok: [200] };
        throw new Error(`no probe for ${rule.id}: add one to security.faults.spec.ts`);
    }
  }

  async function call(app: App, probe: Probe, caller: Caller): Promise<Answer> {
    const apiKey = caller === 'no key' ? undefined : caller === 'unknown key' ? `not-a-key-${Math.random().toString(36).slice(2)}` : key(caller);
    if (!probe.stream) return hit(app, probe.method, probe.path, { apiKey, body: probe.body });
    // Server-sent events never end: take the status and headers, then hang up.
    const abort = new AbortController();
    const res = await fetch(`${app.url}${probe.path}`, { headers: apiKey ? { 'x-api-key': apiKey } : {}, signal: abort.signal });
    const streaming = (res.headers.get('content-type') ?? '').startsWith('text/event-stream');
    const text = streaming ? '' : await res.text();
    abort.abort();
    const answer: Answer = { status: res.status, headers: res.headers, text, json: streaming ? undefined : JSON.parse(text), request: `GET ${probe.path}` };
    if (!streaming) seen.push(answer);
    return answer;
  }

  it('keeps API keys as hashes only, refuses a key in clear at startup, and compares in constant time', async () => {
    await report.run('API keys', 'API_KEYS with keys in clear; a key’s own hash presented as the key (X-API-Key and Bearer); keys of 1 to 10 000 characters', 'API_KEYS holds principal:role:64-hex only; an app exits 2 naming API_KEYS; hashes do not authenticate (401); every stored hash compared, 32 bytes each, whether the key is first, last or unknown', async () => {
      let count = 0;
      const spec = p.appEnv.API_KEYS;
      // Every entry principal:role:hash, the role one the platform knows (from ROLES, not a copy of it).
      const entry = `[^:,\\s]+:(${ROLES.join('|')}):[0-9a-f]{64}`;
      expect(spec).toMatch(new RegExp(`^${entry}(,${entry})*$`));
      for (const demo of DEMO_KEYS) expect(spec).not.toContain(demo.key);

      const inClear = spawnSync(process.execPath, [join(root, 'apps', 'ledger', 'dist', 'main.js')], {
        env: { ...process.env, ...p.appEnv, PORT: '0', API_KEYS: DEMO_KEYS.map((k) => `${k.principal}:${k.role}:${k.key}`).join(',') },
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect([inClear.status, inClear.stderr]).toEqual([2, expect.stringMatching(/API_KEYS: .*64 hex/)]);
      count++;

      for (const demo of DEMO_KEYS) {
        for (const headers of [{ 'x-api-key': hashApiKey(demo.key) }, { authorization: `Bearer ${hashApiKey(demo.key)}` }, { authorization: `Bearer ${demo.key.toUpperCase()}` }] as Array<Record<string, string>>) {
          expectClientError(await hit(apps.ledger, 'GET', '/admin/whoami', { headers }), 401, (json) => (json.error === 'UNAUTHENTICATED' ? undefined : 'expected UNAUTHENTICATED'));
          count++;
        }
        const bearer = await hit(apps.ledger, 'GET', '/admin/whoami', { headers: { authorization: `Bearer ${demo.key}` } });
        expect(bearer.json).toEqual({ principal: demo.principal, role: demo.role });
        count++;
      }

      // Constant time: the presented key is hashed, and every stored hash is compared (no early
      // exit), so how long it takes says nothing about which entry matched or how much of a key.
      const nodeCrypto: typeof import('node:crypto') = jest.requireActual('node:crypto');
      const compare = jest.spyOn(nodeCrypto, 'timingSafeEqual');
      try {
        const keys = parseApiKeys(apiKeysSpec());
        for (const presented of [DEMO_KEYS[0].key, DEMO_KEYS[DEMO_KEYS.length - 1].key, 'unknown', 'x', 'k'.repeat(10_000)]) {
          compare.mockClear();
          authenticate(keys, presented);
          expect([presented.slice(0, 20), compare.mock.calls.length]).toEqual([presented.slice(0, 20), keys.length]);
          for (const [a, b] of compare.mock.calls) expect([(a as Buffer).length, (b as Buffer).length]).toEqual([32, 32]);
        }
      } finally {
        compare.mockRestore();
      }
      return count;
    });
  });

  it('answers every endpoint × every role as the permission table says (401 without a valid key, 403 for a wrong role)', async () => {
    await report.run('permission matrix', `${PERMISSIONS.length} endpoints (README "Permissions") × no key, an unknown key and the 5 roles, on every app that has the endpoint`, 'public → answered; no/unknown key → 401 UNAUTHENTICATED; ✓ → the endpoint’s own answer; 403 → FORBIDDEN (no alert); 403 + alert → FORBIDDEN with alert; denied writes leave no trace', async () => {
      let count = 0;
      const failures: string[] = [];
      for (const rule of PERMISSIONS) {
        const targets = rule.app === 'every app' ? APP_NAMES : [rule.app];
        for (const appName of targets) {
          for (const caller of CALLERS) {
            const pr = probe(rule, caller);
            const answer = await call(apps[appName], pr, caller);
            count++;
            const cell = caller === 'no key' || caller === 'unknown key' ? (rule.public ? 'allow' : 'unauthenticated') : rule.access[caller];
            const where = `${rule.id} on ${appName} as ${caller}`;
            try {
              if (cell === 'allow') {
                if (!pr.ok.includes(answer.status)) throw new Error(`${where}: expected ${pr.ok.join('/')}, got ${answer.status} ${answer.text.slice(0, 200)}`);
              } else if (cell === 'unauthenticated') {
                expectClientError(answer, 401, (json) => (json.error === 'UNAUTHENTICATED' ? undefined : 'expected UNAUTHENTICATED'));
              } else {
                expectClientError(answer, 403, (json) => (json.error !== 'FORBIDDEN' ? 'expected FORBIDDEN' : (json.alert === true) !== (cell === 'deny+alert') ? `expected alert=${cell === 'deny+alert'}` : undefined));
              }
              const problems = securityHeaderProblems(answer.headers, { api: !pr.page && !pr.stream });
              if (problems.length) throw new Error(`${where}: ${problems.join('; ')}`);
            } catch (err) {
              failures.push(`${where}: ${(err as Error).message}`);
            }
          }
        }
      }
      expect(failures).toEqual([]);

      // Nothing a refused request asked for happened: no command reached Kafka for it (a refused
      // correction by an operator does, to be refused by the reducer with an alert), and the ledger agrees.
      const commands = new Map<string, string[]>();
      for (const r of await p.readTopic('shipmentCommands', 40)) {
        const id = (r.value as { aggregateId: string }).aggregateId;
        commands.set(id, [...(commands.get(id) ?? []), r.recordName]);
      }
      const operator = (c: Caller) => c === 'associate' || c === 'team-lead' || c === 'supervisor';
      for (const { id, allowed } of ctx.created) expect([id, commands.get(id) ?? []]).toEqual([id, allowed ? ['CreateShipment'] : []]);
      for (const caller of CALLERS) {
        const who = label(caller);
        expect([who, commands.get(`SEC-REL-${who}`)]).toEqual([who, operator(caller) ? ['CreateShipment', 'ReleaseForPicking'] : ['CreateShipment']]);
        for (const kind of ['COR', 'PRX']) expect([who, kind, commands.get(`SEC-${kind}-${who}`)]).toEqual([who, kind, operator(caller) ? ['CreateShipment', 'CorrectStatus'] : ['CreateShipment']]);
      }
      for (const { id, by, allowed } of ctx.created) {
        const found = await ledgerHas(`/shipments/${id}`, (a) => a.status === (allowed ? 200 : 404));
        expect([id, by, found.status]).toEqual([id, by, allowed ? 200 : 404]);
      }
      for (const caller of CALLERS) {
        const mayOperate = caller !== 'no key' && caller !== 'unknown key' && ['associate', 'team-lead', 'supervisor'].includes(caller);
        const released = await ledgerHas(`/shipments/SEC-REL-${label(caller)}`, (a) => a.status === 200 && a.json.status === (mayOperate ? 'PendingPicking' : 'Created'));
        expect([caller, released.json.status]).toEqual([caller, mayOperate ? 'PendingPicking' : 'Created']);
        for (const kind of ['COR', 'PRX']) {
          const corrected = await ledgerHas(`/shipments/SEC-${kind}-${label(caller)}`, (a) => a.status === 200 && a.json.status === (caller === 'supervisor' ? 'Cancelled' : 'Created'));
          expect([caller, kind, corrected.json.status]).toEqual([caller, kind, caller === 'supervisor' ? 'Cancelled' : 'Created']);
        }
      }
      const transactions = await eventually('ACC-SEC transactions', () => send(apps['accounting-handler'], 'GET', '/accounts/ACC-SEC/transactions', { role: 'finance' }), (a) => a.json?.items?.length >= 4);
      const probes = transactions.json.items.filter((t: { reason: string | null }) => t.reason?.startsWith('probe '));
      expect(probes.map((t: { reason: string; cause: { initiatedBy: string } }) => [t.reason, t.cause.initiatedBy]).sort()).toEqual([
        ['probe finance', 'fay.finance'],
        ['probe finance', 'fay.finance'],
      ]);
      type Alert = { shipmentId: string; initiatedBy: string; commandType: string };
      const ofCorrections = (a: Answer) => (a.json?.items ?? []).filter((i: Alert) => /^SEC-(COR|PRX)-/.test(i.shipmentId)) as Alert[];
      const alerts = await eventually('the correction alerts', () => send(apps.ledger, 'GET', '/alerts?limit=200', { role: 'viewer' }), (a) => ofCorrections(a).length >= 4);
      const corrections = ofCorrections(alerts).map((a) => `${a.shipmentId} ${a.initiatedBy} ${a.commandType}`);
      expect(corrections.sort()).toEqual(
        ['COR', 'PRX'].flatMap((kind) => [`SEC-${kind}-associate ana.associate CorrectStatus`, `SEC-${kind}-team-lead tom.teamlead CorrectStatus`]).sort(),
      );
      return count;
    });
  });

  it('takes initiatedBy from the key, never from the body', async () => {
    await report.run('initiatedBy', '`initiatedBy: "mallory"` in the create body, the command body and its data, a payment, a correction through the admin proxy, an acknowledgement (`by`)', 'every event, outcome, transaction and acknowledgement carries the key’s principal; "mallory" is on no topic', async () => {
      const mallory = { initiatedBy: 'mallory' };
      await create('SEC-WHO', 'associate', { ...newShipment('SEC-WHO'), ...mallory });
      expect((await hit(apps['shipment-handler'], 'POST', '/shipments/SEC-WHO/commands', { role: 'team-lead', body: { type: 'ReleaseForPicking', data: mallory, ...mallory } })).status).toBe(200);
      expect((await hit(apps.ledger, 'POST', '/admin/api/shipments/SEC-WHO/correct-status', { role: 'supervisor', body: { toStatus: 'Created', reason: 'who did it', ...mallory } })).status).toBe(200);
      const paid = await hit(apps['accounting-handler'], 'POST', '/accounts/ACC-SEC/payments', { role: 'finance', body: { amountMinor: 7, currency: 'EUR', reference: 'who paid', ...mallory } });
      expect(paid.status).toBe(201);
      const ack = await hit(apps.ledger, 'POST', `/alerts/${ctx.alertId}/ack`, { role: 'supervisor', body: { by: 'mallory', acknowledgedBy: 'mallory', ...mallory } });
      expect(ack.json).toMatchObject({ acknowledged: true, alreadyAcknowledged: true });
      expect(ack.json.acknowledgedBy).toMatch(/^(tom\.teamlead|sue\.supervisor)$/);

      const events = await ledgerHas('/shipments/SEC-WHO/events', (a) => a.status === 200 && a.json.items.length === 3);
      expect(events.json.items.map((e: { type: string; initiatedBy: string }) => [e.type, e.initiatedBy])).toEqual([
        ['ShipmentCreated', 'ana.associate'],
        ['ReleasedForPicking', 'tom.teamlead'],
        ['StatusCorrected', 'sue.supervisor'],
      ]);
      expect(events.json.items[2].data).toMatchObject({ correctedBy: 'sue.supervisor', reason: 'who did it' });
      const recorded = (await p.readTopic('accountingTransactions', 4)).map((r) => r.value as { initiatedBy: string; data: { reason: string | null } });
      expect(recorded.find((t) => t.data.reason === 'who paid')?.initiatedBy).toBe('fay.finance');
      let records = 0;
      const topics = ['shipmentCommands', 'shipmentEvents', 'shipmentOutcomes', 'accountingCommands', 'accountingTransactions'] as const;
      const contents = await Promise.all(topics.map((topic) => p.readTopic(topic, 1)));
      topics.forEach((topic, i) => {
        records += contents[i].length;
        expect([topic, contents[i].filter((r) => JSON.stringify(r.value).includes('mallory')).length]).toEqual([topic, 0]);
      });
      expect(records).toBeGreaterThan(50);
      return 5;
    });
  });

  it('limits each key, and each address without a key, with 429 and Retry-After; health checks are never limited', async () => {
    await report.run('rate limits', 'a shipment-handler with RATE_LIMIT_PER_MINUTE=8 and RATE_LIMIT_ANONYMOUS_PER_MINUTE=4: 9 requests with one key, 5 with unknown keys, then other keys and health checks', '9th → 429 RATE_LIMITED, Retry-After 1–60 s, RateLimit headers, JSON, security headers; the same principal by Bearer is limited too; another key and the health checks are not', async () => {
      let count = 0;
      for (let i = 1; i <= 8; i++) {
        const answer = await hit(limited, 'GET', '/commands/nothing-here', { role: 'viewer' });
        count++;
        expectClientError(answer, 404);
        expect(answer.headers.get('ratelimit')).toMatch(new RegExp(`limit=8, remaining=${8 - i}, reset=\\d+`));
      }
      for (const options of [{ role: 'viewer' }, { headers: { authorization: `Bearer ${key('viewer')}` } }]) {
        const limitedAnswer = await hit(limited, 'GET', '/commands/nothing-here', options);
        count++;
        expectClientError(limitedAnswer, 429, (json) => (json.error === 'RATE_LIMITED' ? undefined : 'expected RATE_LIMITED'));
        const retryAfter = Number(limitedAnswer.headers.get('retry-after'));
        expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
        expect(limitedAnswer.json.retryAfterSeconds).toBe(retryAfter);
        expect(limitedAnswer.headers.get('ratelimit-policy')).toBe('8;w=60');
      }
      // Another principal from the same address has its own allowance.
      expectClientError(await hit(limited, 'GET', '/commands/nothing-here', { role: 'associate' }), 404);
      count++;
      for (let i = 1; i <= 4; i++) {
        expectClientError(await hit(limited, 'GET', '/commands/nothing-here', { apiKey: `guess-${i}` }), 401);
        count++;
      }
      for (const options of [{ apiKey: 'guess-5' }, {}]) {
        const answer = await hit(limited, 'GET', '/commands/nothing-here', options);
        count++;
        expectClientError(answer, 429);
        expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      }
      expectClientError(await hit(limited, 'GET', '/commands/nothing-here', { role: 'supervisor' }), 404);
      for (const path of ['/healthz', '/readyz', '/healthz']) {
        const health = await hit(limited, 'GET', path);
        expect([path, health.status]).toEqual([path, 200]);
        count++;
      }
      // The apps with the default limit (6000 a minute) never said 429 to anyone here.
      expect(seen.filter((a) => a.status === 429 && !a.request.includes('nothing-here'))).toEqual([]);
      return count + 1;
    });
  });

  it('sends the security headers on every answer: 2xx, 3xx, 401, 403, 404, 413, 429, health, and what node refuses itself', async () => {
    await report.run('security headers', 'every answer above, plus unknown paths, a body over the limit, a 20 kB header, health checks of every app', 'nosniff, DENY, no-referrer, same-origin CORP, CSP with default-src and frame-ancestors none, Cache-Control no-store (not on the page’s assets), no X-Powered-By', async () => {
      for (const app of Object.values(apps)) {
        for (const path of ['/healthz', '/readyz', '/no/such/path']) await hit(app, 'GET', path, { role: 'viewer' });
        await hit(app, 'GET', '/no/such/path');
        await hit(app, 'POST', '/shipments', { role: 'associate', rawBody: JSON.stringify({ pad: 'x'.repeat(1_100_000) }) });
        const raw = await rawHttp(app.port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ${'p'.repeat(20_000)}\r\nConnection: close\r\n\r\n`);
        seen.push({ status: raw.status, headers: new Headers(raw.headers), text: raw.body, json: JSON.parse(raw.body), request: `GET /healthz with a 20 kB header on ${app.name}` });
      }
      await hit(apps.ledger, 'GET', '/admin');
      const statuses = new Set(seen.map((a) => a.status));
      for (const status of [200, 201, 301, 401, 403, 404, 413, 429, 431]) expect([status, statuses.has(status)]).toEqual([status, true]);
      const wrong = seen
        .map((a) => ({ a, problems: securityHeaderProblems(a.headers, { api: !/\/admin\/(ops\/)?(index\.html|assets\/|$)/.test(a.request.split(' ')[1] ?? '') }) }))
        .filter(({ problems }) => problems.length)
        .map(({ a, problems }) => `${a.request} → ${a.status}: ${problems.join('; ')}`);
      expect(wrong).toEqual([]);
      return seen.length;
    });
  });

  describe('the admin page and script in event data', () => {
    // Every string an operator can put into an event, holding markup that would run if the page
    // ever inserted it as HTML. The page's CSP would block inline script too, so the test does not
    // rely on it: it asserts the text is shown verbatim, that no element came from it, and that no
    // CSP violation was even attempted.
    const P = {
      orderId: `<script>window.__pwned='orderId'</script>`,
      account: `<img src=x onerror="window.__pwned='account'">`,
      name: `"><svg onload="window.__pwned='name'"></svg>`,
      street: `'><iframe srcdoc="<script>parent.__pwned='street'</script>"></iframe>`,
      city: `javascript:window.__pwned='city'`,
      postalCode: `<a href="javascript:window.__pwned='postal'">1234</a>`,
      sku1: `{{constructor.constructor("window.__pwned='sku'")()}}`,
      sku2: `<style>*{display:none}</style><b onmouseover="window.__pwned='hover'">x</b>`,
      cancel: `\u202e<script>alert('cancel')</script>`,
      carrier: `<img src=/ onerror=alert('carrier')>`,
      tracking: `</td></tr><script>window.__pwned='tracking'</script>`,
      correction: `<details open ontoggle="window.__pwned='correction'">`,
      reference: `<object data="javascript:window.__pwned='payment'"></object>`,
    };
    const TRACE = `<svg/onload=window.__pwned='trace'>`;
    let browser: Browser;
    let page: Page;
    const dialogs: string[] = [];
    const pageErrors: string[] = [];

    beforeAll(async () => {
      const handler = apps['shipment-handler'];
      const hostile = {
        ...newShipment('SEC-XSS-1'),
        orderId: P.orderId,
        customerAccountId: P.account,
        destination: { name: P.name, street: P.street, city: P.city, postalCode: P.postalCode, country: 'NL' },
        lines: [
          { sku: P.sku1, quantity: 1, unitPriceMinor: 100 },
          { sku: P.sku2, quantity: 1, unitPriceMinor: 200 },
        ],
      };
      await create('SEC-XSS-1', 'associate', hostile, { 'x-trace-id': TRACE });
      expect((await command('SEC-XSS-1', 'team-lead', 'ReleaseForPicking', {}, { 'x-trace-id': TRACE })).status).toBe(200);
      expect((await command('SEC-XSS-1', 'associate', 'PickItem', { sku: P.sku1, quantity: 1 }, { 'x-trace-id': TRACE })).status).toBe(200);
      expect((await command('SEC-XSS-1', 'associate', 'Cancel', { reason: P.cancel }, { 'x-trace-id': TRACE })).status).toBe(200);
      // A forbidden transition in the same trace: an alert on the alerts page.
      expect((await command('SEC-XSS-1', 'team-lead', 'Pack', { packageCount: 1 }, { 'x-trace-id': TRACE })).status).toBe(422);

      await create('SEC-XSS-2', 'associate', { ...newShipment('SEC-XSS-2'), customerAccountId: 'ACC-SEC', orderId: `ORD ${P.orderId}` });
      await ship('SEC-XSS-2', { carrier: P.carrier, trackingNumber: P.tracking });
      expect((await command('SEC-XSS-2', 'supervisor', 'CorrectStatus', { toStatus: 'Packed', reason: P.correction })).status).toBe(200);
      expect((await hit(handler, 'POST', '/shipments', { role: 'associate', body: { ...newShipment('SEC-XSS-3'), orderId: 'x'.repeat(501) } })).status).toBe(400);
      expect((await hit(apps['accounting-handler'], 'POST', '/accounts/ACC-SEC/payments', { role: 'finance', body: { amountMinor: 1, currency: 'EUR', reference: P.reference } })).status).toBe(201);

      // The API hands the text back exactly: escaping is the page's job, not the data's.
      const stored = await ledgerHas('/shipments/SEC-XSS-1', (a) => a.status === 200 && a.json.status === 'Cancelled');
      expect([stored.json.orderId, stored.json.customerAccountId, stored.json.state.destination]).toEqual([P.orderId, P.account, hostile.destination]);
      await ledgerHas('/shipments/SEC-XSS-2', (a) => a.status === 200 && a.json.status === 'Packed');
      await eventually('the payment with markup on ACC-SEC', () => send(apps.ledger, 'GET', '/accounts/ACC-SEC/transactions?limit=200', { role: 'viewer' }), (a) => a.json?.items?.some((t: { reason: string }) => t.reason === P.reference));

      browser = await launchChromium();
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      // Record any CSP violation: an attempt to run injected script would show up here even though
      // the policy blocks it.
      await context.addInitScript(() => {
        const w = window as unknown as { __csp: string[] };
        w.__csp = [];
        document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample}`));
      });
      page = await context.newPage();
      page.on('dialog', async (d) => {
        dialogs.push(d.message());
        await d.dismiss();
      });
      page.on('pageerror', (err) => pageErrors.push(String(err)));
      await page.goto(`${apps.ledger.url}/admin/`);
      await page.getByLabel('API key').fill(key('supervisor'));
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByTestId('whoami').waitFor();
    }, 180_000);

    afterAll(async () => {
      await browser?.close();
    });

    /** What injected markup would leave behind on the page, whether or not the CSP stopped it running. */
    function pageState() {
      return page.evaluate(() => {
        const app = document.getElementById('app')!;
        return {
          pwned: (window as unknown as { __pwned?: unknown }).__pwned,
          csp: (window as unknown as { __csp: string[] }).__csp,
          injected: Array.from(app.querySelectorAll('script, iframe, object, embed, style, svg[onload], img[onerror], [onerror], [onload], [onmouseover], [ontoggle], [srcdoc]')).map((e) => e.outerHTML.slice(0, 120)),
          scriptHrefs: Array.from(app.querySelectorAll('a[href]')).map((a) => a.getAttribute('href')!).filter((h) => /^\s*javascript:/i.test(h)),
          inlineScripts: Array.from(document.querySelectorAll('script')).filter((s) => !s.src || new URL(s.src).origin !== location.origin).length,
        };
      });
    }

    /** Opens a page of the admin UI, waits until it shows every expected text, and checks nothing ran. */
    async function visit(hash: string, texts: string[]): Promise<void> {
      await page.goto(`${apps.ledger.url}/admin/${hash}`);
      await page.waitForFunction((wanted) => wanted.every((t) => document.body.innerText.includes(t)), texts, { timeout: 15_000 }).catch(async (err) => {
        const shown = await page.evaluate(() => document.body.innerText);
        throw new Error(`${hash}: not all of ${JSON.stringify(texts)} shown (${String(err).slice(0, 100)}); page says:\n${shown.slice(0, 1500)}`);
      });
      expect({ hash, ...(await pageState()), dialogs }).toEqual({ hash, pwned: undefined, csp: [], injected: [], scriptHrefs: [], inlineScripts: 0, dialogs: [] });
    }

    it('shows markup from every event field as text on every page, and runs none of it', async () => {
      await report.run('admin page (Chromium)', `${Object.keys(P).length + 1} script/markup payloads (<script>, onerror, onload, srcdoc, javascript: URLs, template syntax, RTL override) in order, account, address, SKUs, cancel and correction reasons, carrier, tracking, payment reference and X-Trace-Id, sent through the public APIs`, 'the API returns the text verbatim; events list, event, shipment, shipments, trace, alerts and account pages show it as text; no injected element, no javascript: link, no dialog, no CSP violation, window.__pwned unset', async () => {
        const created = (await send(apps.ledger, 'GET', '/shipments/SEC-XSS-1/events', { role: 'viewer' })).json.items;
        const shipped = (await send(apps.ledger, 'GET', '/shipments/SEC-XSS-2/events', { role: 'viewer' })).json.items;
        const visits: Array<[string, string[]]> = [
          ['#/events', ['SEC-XSS-1']],
          [`#/events/${encodeURIComponent(created[0].eventId)}`, [P.orderId, P.account, P.name, P.street, P.city, P.postalCode, P.sku1, P.sku2]],
          [`#/events/${encodeURIComponent(created[2].eventId)}`, [P.sku1]],
          [`#/events/${encodeURIComponent(created[3].eventId)}`, [P.cancel.trim()]],
          [`#/shipments/SEC-XSS-1`, [P.orderId, P.account]],
          [`#/shipments?q=SEC-XSS`, [P.orderId]],
          [`#/traces/${encodeURIComponent(TRACE)}`, [TRACE]],
          [`#/events/${encodeURIComponent(shipped.find((e: { type: string }) => e.type === 'ShipmentShipped').eventId)}`, [P.carrier, P.tracking]],
          [`#/shipments/SEC-XSS-2`, [P.correction]],
          ['#/alerts', ['SEC-XSS-1']],
          ['#/accounts/ACC-SEC', [P.reference]],
          [`#/accounts/${encodeURIComponent(P.account)}`, []],
        ];
        for (const [hash, texts] of visits) await visit(hash, texts);
        expect(pageErrors).toEqual([]);

        // The control: the same markup put in as HTML is caught by these checks (and blocked by the CSP).
        await page.evaluate((html) => document.getElementById('app')!.insertAdjacentHTML('beforeend', html), `${P.account}${P.street}`);
        await page.waitForFunction(() => (window as unknown as { __csp: string[] }).__csp.length > 0, undefined, { timeout: 5_000 });
        const control = await pageState();
        expect(control.injected.length).toBeGreaterThanOrEqual(2);
        expect(control.csp.length).toBeGreaterThan(0);
        expect(control.pwned).toBeUndefined();
        return visits.length;
      });
    });
  });
});
