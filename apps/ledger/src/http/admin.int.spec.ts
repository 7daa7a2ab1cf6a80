import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { apiKeysSpec, DEMO_KEYS } from '@waybill/devstack';
import { createHttpApp, createLogger, createMetrics, jsonErrorHandler, listen, openApiDocument } from '@waybill/platform';
import { adminRoutes } from './admin';

// The correct-status proxy against a stand-in shipment-handler that records what reaches it:
// no Kafka, no Redis.

const key = (role: string) => {
  const demo = DEMO_KEYS.find((k) => k.role === role);
  if (!demo) throw new Error(`no demo key for the role ${role}`);
  return demo.key;
};

const servers: Server[] = [];
const forwarded: unknown[] = [];
let url: string;

beforeAll(async () => {
  const fake = express();
  fake.use(express.json());
  fake.post('/shipments/:id/commands', (req, res) => {
    forwarded.push(req.body);
    res.status(200).json({ status: 'accepted', shipmentId: req.params.id });
  });
  const handler = await listen(fake, 0, '127.0.0.1');
  servers.push(handler);
  const logger = createLogger('ledger-admin-test', 'silent');
  const { app, authenticated } = createHttpApp({ logger, metrics: createMetrics('ledger-admin-test'), apiKeys: apiKeysSpec(), rateLimit: { perMinute: 100_000, anonymousPerMinute: 100_000 }, openApi: openApiDocument({ title: 'admin proxy test', description: 'the admin routes alone' }) });
  app.use(adminRoutes({ shipmentHandlerUrl: `http://127.0.0.1:${(handler.address() as AddressInfo).port}`, logger, authenticated }));
  app.use(jsonErrorHandler(logger));
  const ledger = await listen(app, 0, '127.0.0.1');
  servers.push(ledger);
  url = `http://127.0.0.1:${(ledger.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

beforeEach(() => {
  forwarded.length = 0;
});

const correct = (body: unknown) =>
  fetch(`${url}/admin/api/shipments/SHP-1/correct-status`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key('supervisor') },
    body: JSON.stringify(body),
  });

describe('POST /admin/api/shipments/:id/correct-status', () => {
  it('forwards a valid correction as a CorrectStatus command', async () => {
    const res = await correct({ toStatus: 'Picking', reason: 'miscounted' });
    expect(res.status).toBe(200);
    expect(forwarded).toEqual([{ type: 'CorrectStatus', data: { toStatus: 'Picking', reason: 'miscounted' } }]);
  });

  it.each([
    [{ toStatus: 'Picking', reason: 'miscounted', type: 'Ship' }, ['type']],
    [{ toStatus: 'Picking', reason: 'miscounted', data: {} }, ['data']],
    [{ toStatus: 'Picking', reason: 'miscounted', Reason: 'x', __proto__x: 1 }, ['Reason', '__proto__x']],
  ])('refuses unknown fields beside a valid correction, as shipment-handler does: %j', async (body, fields) => {
    const res = await correct(body);
    expect(res.status).toBe(400);
    const answer = (await res.json()) as { error: string; message: string; fieldErrors: Array<{ field: string; message: string }> };
    expect(answer).toEqual({ error: 'VALIDATION', message: 'the request has invalid fields', fieldErrors: fields.map((field) => ({ field, message: 'is not a field of this command' })) });
    expect(forwarded).toEqual([]);
  });

  it('ignores initiatedBy, like shipment-handler (it always comes from the key)', async () => {
    const res = await correct({ toStatus: 'Picking', reason: 'miscounted', initiatedBy: 'mallory' });
    expect(res.status).toBe(200);
    expect(forwarded).toEqual([{ type: 'CorrectStatus', data: { toStatus: 'Picking', reason: 'miscounted' } }]);
  });
});
