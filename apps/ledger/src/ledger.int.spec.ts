import type { Producer } from 'kafkajs';
import { createSerde, kafkajsRegistryClient, prefixedTopics, TOPICS, type CommandOutcome, type ShipmentEventRecord, type TransactionRecorded } from '@waybill/contracts';
import { apiKeysSpec, DEMO_KEYS, REDIS_KINDS, testEnvironment, type TestEnvironment } from '@waybill/devstack';
import { applyToMemory, DAY_MS, dumpLedgerKeyspace, LEDGER_TOPICS, ledgerKeyPrefix, ledgerKeyspacePrefix, MemoryKeyspace, type LedgerInput, type LedgerTopic } from '@waybill/ledger-projections';
import { createLogger, createMetrics, loadConfig, scanKeys, unlinkKeys, type RedisClient, type ShutdownStep } from '@waybill/platform';
import { configSchema } from './config';
import { RetentionPruner } from './retention';
import { start } from './wiring';

const key = (role: string) => {
  const demo = DEMO_KEYS.find((k) => k.role === role);
  if (!demo) throw new Error(`no demo key for the role ${role}`);
  return demo.key;
};
const T0 = Date.parse('2025-03-01T10:00:00.000Z');
const MINUTE = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

let env: TestEnvironment;
let prefix: string;
let producer: Producer;
let redis: RedisClient;
let url: string;
let shutdown: ShutdownStep[];
let ownedPartitions: () => Array<{ topic: string; partition: number }>;
const serde = () => createSerde({ registry: kafkajsRegistryClient(env.schemaRegistryUrl) });
const sent: LedgerInput[] = [];

async function produce(topic: LedgerTopic, key: string, record: LedgerInput['record']): Promise<{ topic: string; partition: number; offset: string }> {
  const value = await serde().encode(topic, record.type as never, record.value as never);
  // The record's timestamp is when Waybill recorded it (the reducer's producer sets it the same way).
  const recordedAt = Date.now();
  const [meta] = await producer.send({ topic: prefix + topic, acks: -1, messages: [{ key, value, timestamp: String(recordedAt) }] });
  const offset = meta.baseOffset;
  if (offset === undefined) throw new Error(`the broker acknowledged ${topic} without a base offset`);
  sent.push({ position: { topic, partition: meta.partition, offset }, record, recordedAt });
  return { topic: prefix + topic, partition: meta.partition, offset };
}

/** One item of a list the ledger answers (events, shipments, trace items, alerts): the fields these tests read. */
interface AnswerItem {
  id: string;
  shipmentId: string;
  version: number;
  timestamp: number;
  kind: string;
  at: string;
}

/** What these tests read of the ledger's JSON answers; each route answers some of these fields. */
interface Answer {
  openapi: string;
  message: string;
  meta: { offsets: Record<string, Record<string, string>> };
  items: AnswerItem[];
  nextCursor: string | null;
  changes: unknown[];
  events: AnswerItem[];
  previous: unknown;
}

async function get(path: string, role: string | null = 'viewer', init: RequestInit = {}): Promise<{ status: number; body: Answer }> {
  const res = await fetch(url + path, { ...init, headers: { ...(role ? { 'x-api-key': key(role) } : {}), ...(init.headers ?? {}) } });
  const text = await res.text();
  // Every route these tests call answers JSON, errors included.
  if (!text) throw new Error(`${init.method ?? 'GET'} ${path} answered ${res.status} with an empty body`);
  return { status: res.status, body: JSON.parse(text) };
}

const envelope = (id: string, version: number, at: number, traceId: string, by = 'ana.associate') => ({
  eventId: `c-${id}-${version}:0`,
  aggregateId: id,
  aggregateType: 'Shipment',
  version,
  traceId,
  causationId: `c-${id}-${version}`,
  initiatedBy: by,
  timestamp: at,
  observation: null,
});

function shipmentEvents(id: string, traceId: string): ShipmentEventRecord[] {
  const at = (v: number) => T0 + (v - 1) * MINUTE;
  return [
    {
      type: 'ShipmentCreated',
      value: {
        ...envelope(id, 1, at(1), traceId),
        data: {
          orderId: `ORD-${id}`,
          customerAccountId: `ACC-${id}`,
          currency: 'EUR',
          lines: [{ sku: 'SKU-A', quantity: 2, unitPriceMinor: 1250 }],
          destination: { name: 'Ada', street: 'Main 1', city: 'Utrecht', postalCode: '3511', country: 'NL' },
          totalMinor: 2500,
        },
      },
    },
    { type: 'ReleasedForPicking', value: { ...envelope(id, 2, at(2), traceId, 'tom.teamlead'), data: {} } },
    { type: 'ItemPicked', value: { ...envelope(id, 3, at(3), traceId), data: { sku: 'SKU-A', quantity: 2, pickedForSku: 2 } } },
    { type: 'PickingCompleted', value: { ...envelope(id, 4, at(4), traceId), data: {} } },
    { type: 'ShipmentPacked', value: { ...envelope(id, 5, at(5), traceId), data: { packageCount: 1 } } },
    { type: 'ReadyForShipping', value: { ...envelope(id, 6, at(6), traceId), data: {} } },
    {
      type: 'ShipmentShipped',
      value: { ...envelope(id, 7, at(7), traceId), data: { carrier: 'DHL', trackingNumber: 'TRK', customerAccountId: `ACC-${id}`, totalMinor: 2500, currency: 'EUR', serviceLevel: 'express' } },
    },
  ];
}

function outcome(id: string, at: number, alert: boolean, traceId: string): CommandOutcome {
  return {
    commandId: `c-${id}-${at}`,
    aggregateId: id,
    commandType: alert ? 'ReleaseForPicking' : 'Ship',
    status: alert ? 'Rejected' : 'Accepted',
    version: 7,
    eventIds: alert ? [] : [`c-${id}-7:0`],
    rejection: alert ? { code: 'INVALID_TRANSITION', reason: 'a shipped shipment cannot be released again', currentStatus: 'Shipped', allowedCommands: ['ConfirmDelivery'], fieldErrors: [] } : null,
    alert,
    violation: null,
    initiatedBy: 'ana.associate',
    role: 'associate',
    traceId,
    causationId: `c-${id}-${at}`,
    timestamp: at,
    eventId: `c-${id}-${at}:outcome`,
  };
}

function charge(id: string, traceId: string): TransactionRecorded {
  return {
    eventId: `tx-${id}:0`,
    aggregateId: `ACC-${id}`,
    aggregateType: 'Account',
    version: 1,
    traceId,
    causationId: `acmd-${id}`,
    initiatedBy: 'accounting-listener',
    timestamp: T0 + 6 * MINUTE + 500,
    data: { transactionId: `tx-${id}`, accountId: `ACC-${id}`, kind: 'Charge', amountMinor: 2500, currency: 'EUR', reason: null, shipmentId: id, sourceEventId: `c-${id}-7:0` },
  };
}

// The same API on both Redis deployments: on the cluster each partition's keys are in a slot of
// their own, and every list, count and trace is merged from all of them.
describe.each(REDIS_KINDS)('ledger on a %s Redis', (redisKind) => {
  beforeAll(async () => {
    env = testEnvironment();
    sent.length = 0;
    prefix = `${env.uniqueName('ledger')}.`;
    const topics = prefixedTopics(prefix);
    await env.createTopics([topics.shipmentEvents, topics.shipmentOutcomes, topics.accountingTransactions].map((topic) => ({ topic, partitions: 3 })));
    producer = env.kafka.producer();
    await producer.connect();
    redis = env.redisOf(redisKind);

    for (const record of shipmentEvents('S1', 'trace-1')) await produce(TOPICS.shipmentEvents, 'S1', record);
    await produce(TOPICS.shipmentOutcomes, 'S1', { type: 'CommandOutcome', value: outcome('S1', T0 + 6 * MINUTE, false, 'trace-1') });
    await produce(TOPICS.accountingTransactions, 'ACC-S1', { type: 'TransactionRecorded', value: charge('S1', 'trace-1') });
    await produce(TOPICS.accountingTransactions, 'ACC-S1', { type: 'TransactionRecorded', value: charge('S1', 'trace-1') }); // a duplicate
    await produce(TOPICS.shipmentOutcomes, 'S1', { type: 'CommandOutcome', value: outcome('S1', T0 + 8 * MINUTE, true, 'trace-2') });
    for (const record of shipmentEvents('S2', 'trace-3').slice(0, 3)) await produce(TOPICS.shipmentEvents, 'S2', record);

    const config = loadConfig(configSchema, {
      PORT: '0',
      KAFKA_BROKERS: env.brokers.join(','),
      ...env.redisEnvOf(redisKind),
      SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
      API_KEYS: apiKeysSpec(),
      TOPIC_PREFIX: prefix,
      SNAPSHOT_EVERY: '3',
      WAIT_FOR_TIMEOUT_MS: '1500',
    });
    const started = await start(config, createLogger('ledger-int', 'warn'));
    url = `http://127.0.0.1:${started.port}`;
    shutdown = started.shutdown;
    ownedPartitions = () => started.projector.ownedPartitions();
  });

  afterAll(async () => {
    for (const step of shutdown ?? []) await step.run();
    await producer?.disconnect();
    await redis?.del(`${prefix}ledger-acks`);
    if (redis) await unlinkKeys(redis, await scanKeys(redis, `{${prefix}ledger:*`));
    await env?.cleanup();
  });

  /** waitFor for everything produced so far on `topics`. */
  const all = (topics: readonly string[] = LEDGER_TOPICS) =>
    sent
      .filter((s) => topics.includes(s.position.topic))
      .map((s) => `waitFor=${encodeURIComponent(`${s.position.topic}:${s.position.partition}:${s.position.offset}`)}`)
      .join('&');
  /** Waits until everything produced so far is projected: a trace is projected from every topic, so it may wait for any position. */
  const reflectEverything = async () => expect((await get(`/traces/trace-1?${all()}`)).status).toBe(200);

  describe('ledger query API', () => {
    it('needs an API key everywhere but health', async () => {
      expect((await get('/shipments/S1', null)).status).toBe(401);
      expect((await get('/openapi.json', null)).status).toBe(401);
      expect((await get('/alerts/stream', null)).status).toBe(401);
      expect((await get('/healthz', null)).status).toBe(200);
      expect((await get('/openapi.json', 'finance')).body.openapi).toBe('3.0.3');
    });

    it('answers the current state once the projection reached the waited-for offsets, saying which', async () => {
      const res = await get(`/shipments/S1?${all([TOPICS.shipmentEvents])}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ shipmentId: 'S1', status: 'Shipped', version: 7, orderId: 'ORD-S1', allowedCommands: ['ConfirmDelivery', 'CorrectStatus'] });
      const events = sent.filter((s) => s.position.topic === 'shipment.events' && s.record.value.aggregateId === 'S1');
      const last = events[events.length - 1].position;
      expect(BigInt(res.body.meta.offsets['shipment.events'][String(last.partition)])).toBeGreaterThan(BigInt(last.offset));
    });

    it('computes the state as of an instant: at an event, between events, before creation', async () => {
      expect((await get(`/shipments/S1?asOf=${iso(T0 + 2 * MINUTE)}`)).body).toMatchObject({ status: 'Picking', version: 3 });
      expect((await get(`/shipments/S1?asOf=${iso(T0 + 2 * MINUTE - 1)}`)).body).toMatchObject({ status: 'PendingPicking', version: 2 });
      const snapped = (await get(`/shipments/S1?asOf=${iso(T0 + 4 * MINUTE)}`)).body;
      expect(snapped).toMatchObject({ status: 'Packed', version: 5, folded: { fromSnapshotVersion: 3, events: 2 } });
      const before = await get(`/shipments/S1?asOf=${iso(T0 - 1)}`);
      expect(before.status).toBe(404);
      expect(before.body).toMatchObject({ error: 'NOT_YET_CREATED', createdAt: iso(T0) });
      expect((await get(`/shipments/NOPE?asOf=${iso(T0)}`)).status).toBe(404);
    });

    it('diffs two instants field by field, with the events in between', async () => {
      const res = await get(`/shipments/S1/diff?from=${iso(T0 + MINUTE)}&to=${iso(T0 + 3 * MINUTE)}`);
      expect(res.status).toBe(200);
      expect(res.body.changes).toEqual(expect.arrayContaining([{ path: 'status', before: 'PendingPicking', after: 'Picked' }, { path: 'lines[0].picked', before: 0, after: 2 }]));
      expect(res.body.events.map((e: { version: number }) => e.version)).toEqual([3, 4]);
    });

    it('refuses bad parameters with 400 naming them', async () => {
      expect((await get('/shipments/S1?asOf=yesterday')).body).toMatchObject({ error: 'BAD_REQUEST', param: 'asOf' });
      expect((await get('/shipments/S1?asOf=2025-03-01T10:00:00')).status).toBe(400);
      expect((await get('/shipments?limit=0')).body).toMatchObject({ param: 'limit' });
      expect((await get('/shipments?limit=201')).status).toBe(400);
      expect((await get('/shipments?status=Lost')).body).toMatchObject({ param: 'status' });
      expect((await get('/events?type=Nope')).body).toMatchObject({ param: 'type' });
      expect((await get('/events?cursor=!!')).body).toMatchObject({ param: 'cursor' });
      expect((await get('/shipments/S1/diff?from=2025-03-01T10:00:00Z')).body).toMatchObject({ param: 'to' });
      expect((await get('/shipments/S1?waitFor=elsewhere:0:1')).body).toMatchObject({ param: 'waitFor' });
      // The shipment is projected from shipment.events alone: an outcome's position says nothing about it.
      const outcomesPosition = await get('/shipments/S1?waitFor=shipment.outcomes:0:0');
      expect(outcomesPosition.body).toMatchObject({ error: 'BAD_REQUEST', param: 'waitFor' });
      expect(outcomesPosition.body.message).toContain('readToken');
      expect((await get('/alerts?waitFor=shipment.events:0:0')).body).toMatchObject({ param: 'waitFor' });
      expect((await get('/shipments/S1?readToken=S1')).body).toMatchObject({ error: 'BAD_REQUEST', param: 'readToken' });
      expect((await get('/shipments/S1?readToken=S1@-1')).body).toMatchObject({ param: 'readToken' });
      expect((await get('/shipments/S1?readToken=S1@1&readToken=S1@2')).body).toMatchObject({ param: 'readToken' });
      const otherShipment = await get('/shipments/S1/events?readToken=S2@1');
      expect(otherShipment.body).toMatchObject({ error: 'BAD_REQUEST', param: 'readToken' });
      expect(otherShipment.body.message).toContain('S2, not S1');
      expect((await get('/shipments?readToken=S1@1')).body).toMatchObject({ param: 'readToken' });
    });

    it('lists shipments by status and search, and counts them per status', async () => {
      expect((await get('/shipments?status=Shipped')).body.items.map((s: { shipmentId: string }) => s.shipmentId)).toEqual(['S1']);
      expect((await get('/shipments?q=ord-s2')).body.items.map((s: { shipmentId: string }) => s.shipmentId)).toEqual(['S2']);
      const page1 = await get('/shipments?limit=1');
      expect(page1.body.items).toHaveLength(1);
      const page2 = await get(`/shipments?limit=1&cursor=${page1.body.nextCursor}`);
      expect(page2.body.items[0].shipmentId).not.toBe(page1.body.items[0].shipmentId);
      expect((await get('/stats/status-counts')).body).toMatchObject({ counts: { Shipped: 1, Picking: 1, Created: 0 }, total: 2 });
    });

    it('lists events newest first with filters, and one event with its neighbours', async () => {
      const all = (await get('/events?limit=200')).body.items;
      expect(all).toHaveLength(10);
      expect(all.map((e: { timestamp: number }) => e.timestamp)).toEqual([...all.map((e: { timestamp: number }) => e.timestamp)].sort((a, b) => b - a));
      expect((await get('/events?type=ItemPicked')).body.items).toHaveLength(2);
      expect((await get('/events?initiatedBy=tom.teamlead')).body.items).toHaveLength(2);
      const ranged = (await get(`/events?from=${iso(T0 + MINUTE)}&to=${iso(T0 + 2 * MINUTE)}`)).body.items;
      expect(ranged.map((e: { shipmentId: string; version: number }) => `${e.shipmentId}@${e.version}`).sort()).toEqual(['S1@2', 'S1@3', 'S2@2', 'S2@3']);
      const one = (await get('/events/c-S1-3:0')).body;
      expect(one).toMatchObject({ event: { version: 3, type: 'ItemPicked' }, previous: { version: 2 }, next: { version: 4 } });
      expect((await get('/events/c-S1-1:0')).body.previous).toBeNull();
      expect((await get('/events/nope')).status).toBe(404);
    });

    it('shows everything a trace caused across domains, in time order', async () => {
      const res = await get(`/traces/trace-1?${all()}`);
      expect(res.status).toBe(200);
      const kinds = res.body.items.map((i: { kind: string }) => i.kind);
      expect(kinds.filter((k: string) => k === 'event')).toHaveLength(7);
      expect(kinds).toContain('outcome');
      expect(kinds).toContain('transaction');
      expect(res.body.items.map((i: { at: string }) => i.at)).toEqual([...res.body.items.map((i: { at: string }) => i.at)].sort());
      expect((await get('/traces/nope')).status).toBe(404);
    });

    it('projects accounts, counting a transactionId once and naming its cause', async () => {
      expect((await get(`/accounts/ACC-S1?${all([TOPICS.accountingTransactions])}`)).body).toMatchObject({ accountId: 'ACC-S1', balanceMinor: 2500, currency: 'EUR', version: 1 });
      const txs = (await get('/accounts/ACC-S1/transactions')).body;
      expect(txs.items).toHaveLength(1);
      expect(txs.items[0]).toMatchObject({ transactionId: 'tx-S1', shipmentId: 'S1', sourceEventId: 'c-S1-7:0', cause: { eventId: 'c-S1-7:0', type: 'ShipmentShipped' } });
      expect((await get('/accounts/nope')).status).toBe(404);
    });

    it('lists alerts, lets a team lead acknowledge one (not a viewer) and records who', async () => {
      const alerts = (await get(`/alerts?${all([TOPICS.shipmentOutcomes])}`)).body.items;
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({ shipmentId: 'S1', acknowledged: false, rejection: { code: 'INVALID_TRANSITION' } });
      const id = encodeURIComponent(alerts[0].id);
      expect((await get(`/alerts/${id}/ack`, 'viewer', { method: 'POST' })).status).toBe(403);
      const acked = await get(`/alerts/${id}/ack`, 'team-lead', { method: 'POST' });
      expect(acked.body).toMatchObject({ acknowledged: true, acknowledgedBy: 'tom.teamlead', alreadyAcknowledged: false });
      expect((await get(`/alerts/${id}/ack`, 'supervisor', { method: 'POST' })).body).toMatchObject({ acknowledgedBy: 'tom.teamlead', alreadyAcknowledged: true });
      expect((await get('/alerts')).body.items[0]).toMatchObject({ acknowledged: true, acknowledgedBy: 'tom.teamlead' });
      expect((await get('/alerts/nope/ack', 'supervisor', { method: 'POST' })).status).toBe(404);
    });

    it('streams a new alert live to a client that gave its key in a header', async () => {
      const controller = new AbortController();
      const res = await fetch(`${url}/alerts/stream`, { headers: { 'x-api-key': key('supervisor') }, signal: controller.signal });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/event-stream');
      if (!res.body) throw new Error('the alert stream answered without a body');
      const reader = res.body.getReader();
      let received = '';
      const arrived = (async () => {
        const decoder = new TextDecoder();
        while (!received.includes('event: alert')) {
          const { value, done } = await reader.read();
          if (done) break;
          received += decoder.decode(value);
        }
      })();
      await new Promise((r) => setTimeout(r, 200));
      await produce(TOPICS.shipmentOutcomes, 'S2', { type: 'CommandOutcome', value: outcome('S2', T0 + 9 * MINUTE, true, 'trace-4') });
      await Promise.race([arrived, new Promise((_, reject) => setTimeout(() => reject(new Error(`no alert within 15 s; got ${received}`)), 15_000))]);
      controller.abort();
      expect(received).toContain(`id: c-S2-${T0 + 9 * MINUTE}:outcome`);
      expect(received).toContain('"acknowledged":false');
    });

    it('makes a read wait for a position on the topic it is projected from (physical topic name)', async () => {
      const [, , , completed] = shipmentEvents('S2', 'trace-3');
      const position = await produce(TOPICS.shipmentEvents, 'S2', completed);
      const res = await get(`/shipments/S2?waitFor=${encodeURIComponent(`${position.topic}:${position.partition}:${position.offset}`)}`);
      expect(res.body).toMatchObject({ version: 4, status: 'Picked' });
    });

    it('makes a read wait for its own write: the readToken shipment-handler answers with', async () => {
      const [, , , , packed] = shipmentEvents('S2', 'trace-3');
      await produce(TOPICS.shipmentEvents, 'S2', packed);
      const shipment = await get('/shipments/S2?readToken=S2@5');
      expect(shipment.body).toMatchObject({ shipmentId: 'S2', version: 5, status: 'Packed' });
      expect(shipment.body.meta.offsets['shipment.events']).toBeDefined();
      const events = await get('/shipments/S2/events?readToken=S2@5');
      expect(events.body.items.map((e: { version: number }) => e.version)).toEqual([1, 2, 3, 4, 5]);
      // An older version is already there; version 0 is what a command refused as NOT_FOUND saw.
      expect((await get('/shipments/S2?readToken=S2@2')).body).toMatchObject({ version: 5 });
      expect((await get('/shipments/NEVER?readToken=NEVER@0')).body).toMatchObject({ error: 'NOT_FOUND' });
    });

    it('answers 504 when the shipment does not reach the readToken version in time, saying what it holds', async () => {
      const began = Date.now();
      const res = await get('/shipments/S1?readToken=S1@8');
      expect(res.status).toBe(504);
      expect(Date.now() - began).toBeGreaterThanOrEqual(1_400);
      expect(res.body).toMatchObject({ error: 'WAIT_FOR_TIMEOUT', readToken: 'S1@8', projectedVersion: 7 });
      expect(res.body.meta.offsets).toBeDefined();
    });

    it('answers 504 when the waited-for offset is not reached in time', async () => {
      const res = await get('/shipments/S1?waitFor=shipment.events:0:999999');
      expect(res.status).toBe(504);
      expect(res.body).toMatchObject({ error: 'WAIT_FOR_TIMEOUT', waitingFor: ['shipment.events:0:999999'] });
      expect(res.body.meta.offsets).toBeDefined();
    });

    it("keeps every key in its partition's hash slot", async () => {
      await reflectEverything();
      const keyPrefix = ledgerKeyPrefix(prefix);
      const keys = await scanKeys(redis, `${ledgerKeyspacePrefix(keyPrefix)}*`);
      const tags = new Set(keys.map((k) => /^\{([^}]*)\}:/.exec(k)?.[1]));
      expect([...tags].sort()).toEqual([0, 1, 2].map((p) => `${keyPrefix}${p}`).filter((tag) => tags.has(tag)));
      // S1, S2 and ACC-S1 are on different partitions.
      expect(tags.size).toBeGreaterThan(1);
    });

    it('leaves exactly the keyspace a rebuild from the same records would write', async () => {
      await reflectEverything();
      const memory = new MemoryKeyspace();
      const byPartition = new Map<string, LedgerInput[]>();
      for (const input of sent) {
        const k = `${input.position.topic}:${input.position.partition}`;
        byPartition.set(k, [...(byPartition.get(k) ?? []), input]);
      }
      for (const inputs of byPartition.values()) applyToMemory(memory, ledgerKeyPrefix(prefix), inputs, { snapshotEvery: 3 });
      expect(memory.size).toBeGreaterThan(0);
      expect(await dumpLedgerKeyspace(redis, ledgerKeyPrefix(prefix))).toEqual(memory.dump());
    });

    it('projects everything again when Redis loses the read model under it, with no new record to notice it by', async () => {
      await reflectEverything();
      const before = await dumpLedgerKeyspace(redis, ledgerKeyPrefix(prefix));
      // What a Redis restarted empty looks like to the running ledger (no AOF, or a flush).
      const keys = await scanKeys(redis, `${ledgerKeyspacePrefix(ledgerKeyPrefix(prefix))}*`);
      expect(keys.length).toBeGreaterThan(0);
      await unlinkKeys(redis, keys);

      // Nothing is produced: the offsets watch (every 2 s by default) has to find the loss itself.
      const deadline = Date.now() + 30_000;
      let after = await dumpLedgerKeyspace(redis, ledgerKeyPrefix(prefix));
      while (JSON.stringify(after) !== JSON.stringify(before) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        after = await dumpLedgerKeyspace(redis, ledgerKeyPrefix(prefix));
      }
      expect(after).toEqual(before);
      expect((await get('/shipments/S1')).body).toMatchObject({ status: 'Shipped' });
    });

    // Last: the archive changes the keyspace the tests above compare with a replay.
    it('archives a shipment closed for longer than the window, and answers its history, as-of and diff from Kafka as before', async () => {
      const id = 'S9';
      const delivered: ShipmentEventRecord = { type: 'ShipmentDelivered', value: { ...envelope(id, 8, T0 + 8 * MINUTE, 'trace-9', 'dan.driver'), data: { receivedBy: 'Ada' } } } as ShipmentEventRecord;
      for (const record of [...shipmentEvents(id, 'trace-9'), delivered]) await produce(TOPICS.shipmentEvents, id, record);
      await produce(TOPICS.shipmentOutcomes, id, { type: 'CommandOutcome', value: outcome(id, T0 + 9 * MINUTE, true, 'trace-9') });
      // An account with two transactions past the window and one inside it (booked "tomorrow").
      const booked = (version: number, timestamp: number): TransactionRecorded => ({
        ...charge(id, `trace-9-tx-${version}`),
        eventId: `tx-${id}-${version}:0`,
        version,
        timestamp,
        data: { ...charge(id, 'x').data, transactionId: `tx-${id}-${version}`, amountMinor: 1000 * version },
      });
      const tomorrow = Date.now() + 1.5 * DAY_MS;
      for (const [version, timestamp] of [[1, T0 + 7 * MINUTE], [2, T0 + 8 * MINUTE], [3, tomorrow]]) {
        await produce(TOPICS.accountingTransactions, `ACC-${id}`, { type: 'TransactionRecorded', value: booked(version, timestamp) });
      }
      await reflectEverything();
      const at = (minutes: number) => encodeURIComponent(new Date(T0 + minutes * MINUTE).toISOString());
      const recordedLater = encodeURIComponent(new Date(Date.now() + MINUTE).toISOString());
      const paths = [
        `/shipments/${id}/events`,
        `/shipments/${id}?asOf=${at(0.5)}`,
        `/shipments/${id}?asOf=${at(3.5)}`,
        `/shipments/${id}?asOf=${at(5)}&knownAt=${recordedLater}`,
        `/shipments/${id}/diff?from=${at(1)}&to=${at(7.5)}`,
        `/accounts/ACC-${id}`,
        // A page of one live and one archived transaction, then the last archived one.
        `/accounts/ACC-${id}/transactions?limit=2`,
        `/accounts/ACC-${id}/transactions`,
        '/accounts/ACC-S1/transactions',
      ];
      // Everything but `meta`: the offsets move with the records this test produces.
      const answer = async (path: string) => {
        const { status, body } = await get(path);
        const { meta: _meta, ...rest } = body;
        return { path, status, body: rest };
      };
      const answers = async () => {
        const all = await Promise.all(paths.map(answer));
        // The page after the one of two: the last archived transaction.
        const cursor = all.find((a) => a.path.endsWith('limit=2'))?.body.nextCursor as string;
        return [...all, await answer(`/accounts/ACC-${id}/transactions?limit=2&cursor=${encodeURIComponent(cursor)}`)];
      };
      const before = await answers();
      expect(before.map((a) => a.status)).toEqual([...paths, 'next page'].map(() => 200));
      expect(before.find((a) => a.path.endsWith('limit=2'))?.body).toMatchObject({ items: [{ transactionId: 'tx-S9-3' }, { transactionId: 'tx-S9-2' }] });
      expect(before[before.length - 1].body).toMatchObject({ items: [{ transactionId: 'tx-S9-1' }], nextCursor: null });
      const ledgerKeysNow = async () => scanKeys(redis, `${ledgerKeyspacePrefix(ledgerKeyPrefix(prefix))}*`);
      const bytes = async () => (await Promise.all((await ledgerKeysNow()).map((k) => redis.memory('USAGE', k)))).reduce<number>((sum, n) => sum + Number(n ?? 0), 0);
      const bytesBefore = await bytes();
      expect((await get('/events?limit=200')).body.items.some((e) => e.shipmentId === id)).toBe(true);

      // The ledger's own pruner, two days on, with a one-day window: only S9 is closed.
      const pruner = new RetentionPruner({
        redis,
        keyPrefix: ledgerKeyPrefix(prefix),
        retentionMs: DAY_MS,
        intervalMs: 60_000,
        ownedPartitions: () => ownedPartitions().filter((p) => p.topic === TOPICS.shipmentEvents).map((p) => p.partition),
        ownedTransactionPartitions: () => ownedPartitions().filter((p) => p.topic === TOPICS.accountingTransactions).map((p) => p.partition),
        logger: createLogger('ledger-int', 'warn'),
        metrics: createMetrics('ledger-int'),
        now: () => Date.now() + 2 * DAY_MS,
      });
      // S9 and three transactions: S1's charge and S9's first two.
      expect(await pruner.runOnce()).toEqual({ shipments: 1, transactions: 3 });
      expect(await pruner.runOnce()).toEqual({ shipments: 0, transactions: 0 });

      expect(await answers()).toEqual(before);
      expect((await get(`/shipments/${id}`)).body).toMatchObject({ status: 'Delivered', version: 8, archived: true });
      expect((await get('/shipments/S1')).body).toMatchObject({ status: 'Shipped', archived: false });
      expect((await get('/events?limit=200')).body.items.some((e) => e.shipmentId === id)).toBe(false);
      expect((await get('/traces/trace-9')).status).toBe(404);
      expect((await get('/alerts?limit=200')).body.items.some((a) => a.shipmentId === id)).toBe(false);
      expect((await ledgerKeysNow()).filter((k) => k.includes(`shipment:${id}:`) || k.includes(`c-${id}-`))).toEqual([]);
      // Eight event documents and an outcome, and their entries, left Redis.
      expect(await bytes()).toBeLessThan(bytesBefore - 8 * 200);
      expect((await get('/traces/trace-9-tx-1')).status).toBe(404);
      expect((await get('/traces/trace-9-tx-3')).status).toBe(200);

      // A late duplicate of an archived transaction has no document left to be seen by: its version refuses it.
      await produce(TOPICS.accountingTransactions, 'ACC-S1', { type: 'TransactionRecorded', value: charge('S1', 'trace-1') });
      await reflectEverything();
      expect(await answers()).toEqual(before);
    });
  });
});
