// The Emmett-on-PostgreSQL peer of bench/http.mjs: an express app (the workspace's own express,
// resolved from the repository's node_modules, so the same version as shipment-handler) whose
// routes run Emmett's CommandHandler against @event-driven-io/emmett-postgresql, with Waybill's
// own decide/evolve (@waybill/shipment-domain, built dist) as the decider. Started by the harness
// as a child process:
//
//   node bench/peers/emmett/http-server.mjs   # env: PORT, EMMETT_PG_URL, API_KEY_SHA256, PRINCIPAL, ROLE, PG_POOL_MAX
//
// Routes, shaped like shipment-handler's:
// - POST /shipments               create (body = CreateShipment data, optional shipmentId) → 201
// - POST /shipments/:id/commands  { type, data } → 200, or the rejection's status (409/422/…)
// - GET  /healthz                 200 once the schema is migrated
//
// Per command: the x-api-key checked against one sha256 hash (constant time), the command built
// with the key's principal and role, validateCommand (400), then CommandHandler: read the stream,
// fold it with evolve, decide, append the envelopes with the version read (optimistic
// concurrency), all in PostgreSQL before the answer. No rate limit, no idempotency keys, no
// outcome topic: the cheapest faithful way to serve these routes with Emmett.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommandHandler } from '@event-driven-io/emmett';
import { getPostgreSQLEventStore } from '@event-driven-io/emmett-postgresql';
import pg from 'pg';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const requireFromRoot = createRequire(join(root, 'package.json'));
const express = requireFromRoot('express');
const domain = requireFromRoot('@waybill/shipment-domain');

const REJECTION_STATUS = { VALIDATION: 400, FORBIDDEN: 403, NOT_FOUND: 404, VERSION_CONFLICT: 409, INVALID_TRANSITION: 422 };
const SHIPMENT_ID = /^[A-Za-z0-9._-]{1,64}$/;

class Rejected extends Error {
  constructor(rejection) {
    super(rejection.reason);
    this.rejection = rejection;
  }
}

const env = process.env;
const connectionString = env.EMMETT_PG_URL;
if (!connectionString) throw new Error('EMMETT_PG_URL is not set');
const keyHash = Buffer.from(env.API_KEY_SHA256 ?? '', 'hex');
if (keyHash.length !== 32) throw new Error('API_KEY_SHA256 must be 64 hex digits');
const principal = { id: env.PRINCIPAL ?? 'bench.integration', role: env.ROLE ?? 'associate' };

const pool = new pg.Pool({ connectionString, max: Number(env.PG_POOL_MAX ?? 20) });
const store = getPostgreSQLEventStore(connectionString, {
  schema: { autoMigration: 'CreateOrUpdate' },
  connectionOptions: { pooled: true, pool },
});

// Emmett's events are { type, data, metadata }: the domain folds { type, data }.
const handle = CommandHandler({
  evolve: (state, event) => domain.evolve(state, { type: event.type, data: event.data }),
  initialState: domain.initialState,
  mapToStreamId: (id) => `shipment-${id}`,
});

function authenticated(req) {
  const given = req.header('x-api-key');
  if (!given) return false;
  return timingSafeEqual(createHash('sha256').update(given, 'utf8').digest(), keyHash);
}

async function runCommand(res, shipmentId, type, data, created) {
  const command = {
    type,
    data,
    metadata: { commandId: randomUUID(), shipmentId, initiatedBy: principal.id, role: principal.role, traceId: randomUUID(), now: Date.now() },
  };
  const fieldErrors = domain.validateCommand(command);
  if (fieldErrors.length) return void res.status(400).json({ error: 'VALIDATION', fieldErrors });
  try {
    const result = await handle(store, shipmentId, (state) => {
      const decided = domain.decide(command, state);
      if (domain.isRejection(decided)) throw new Rejected(decided);
      return domain.toEnvelopes(command, decided, state).map(({ type: t, data: d, ...metadata }) => ({ type: t, data: d, metadata }));
    });
    const version = Number(result.nextExpectedStreamVersion);
    res.setHeader('ETag', `"${version}"`);
    res.status(created ? 201 : 200).json({ status: 'accepted', commandId: command.metadata.commandId, shipmentId, version, eventIds: result.newEvents.map((e) => e.metadata.eventId) });
  } catch (err) {
    if (!(err instanceof Rejected)) throw err;
    const r = err.rejection;
    res.status(REJECTION_STATUS[r.code] ?? 422).json({ status: 'rejected', error: r.code, message: r.reason, currentStatus: r.currentStatus, currentVersion: r.currentVersion, shipmentId });
  }
}

const guard = (fn) => (req, res, next) => {
  if (!authenticated(req)) return void res.status(401).json({ error: 'UNAUTHENTICATED' });
  fn(req, res).catch(next);
};

const app = express();
app.disable('x-powered-by');
app.use(express.json({ limit: '64kb' }));
app.get('/healthz', (_req, res) => res.json({ status: 'ok' }));
app.post(
  '/shipments',
  guard(async (req, res) => {
    const { shipmentId = `SHP-${randomBytes(5).toString('hex').toUpperCase()}`, ...data } = req.body ?? {};
    if (typeof shipmentId !== 'string' || !SHIPMENT_ID.test(shipmentId)) return void res.status(400).json({ error: 'VALIDATION', field: 'shipmentId' });
    await runCommand(res, shipmentId, 'CreateShipment', data, true);
  }),
);
app.post(
  '/shipments/:shipmentId/commands',
  guard(async (req, res) => {
    const { shipmentId } = req.params;
    const { type, data = {} } = req.body ?? {};
    if (!SHIPMENT_ID.test(shipmentId) || typeof type !== 'string' || !domain.isShipmentCommandType(type) || type === 'CreateShipment') {
      return void res.status(400).json({ error: 'VALIDATION' });
    }
    await runCommand(res, shipmentId, type, data, false);
  }),
);
app.use((err, _req, res, _next) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  res.status(500).json({ error: 'INTERNAL', message: String(err?.message ?? err) });
});

await store.schema.migrate();
const server = app.listen(Number(env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`emmett-express listening on ${server.address().port}\n`);
});
const stop = () => {
  server.close();
  void Promise.allSettled([store.close(), pool.end()]).then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
