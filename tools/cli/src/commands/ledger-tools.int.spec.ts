import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin, Producer } from 'kafkajs';
import {
  createSerde,
  kafkajsRegistryClient,
  prefixedTopics,
  topicSpecs,
  TOPICS,
  type CommandOutcome,
  type ShipmentEventRecord,
  type TopicMap,
  type TransactionRecorded,
} from '@waybill/contracts';
import { apiKeysSpec, REDIS_KINDS, startAppProcess, testEnvironment, workspaceRoot, type RedisKind, type RunningApp, type TestEnvironment } from '@waybill/devstack';
import { scanKeys, unlinkKeys, type RedisClient } from '@waybill/platform';
import { dumpLedgerKeyspace, ledgerKeyPrefix, ledgerKeys, ledgerKeyspacePrefix, readLedgerOffsets, type LedgerInput, type LedgerTopic } from '@waybill/ledger-projections';
import { storeKeys } from '@waybill/streams';
import { runCli, type CliIo } from '../cli';

/**
 * `waybill rebuild ledger`, `verify ledger` and `rebuild store` against the real ledger app: a
 * realistic set of records (transactional and plain, an aborted transaction, duplicates, alerts,
 * snapshots) on a private topic set, projected by the running app, then rebuilt by the CLI.
 */
const T0 = Date.parse('2025-03-01T10:00:00.000Z');
const SNAPSHOT_EVERY = '5';

/** A private topic set, key prefix and groups on the shared test broker (like test/support/pipeline.ts). */
interface Pipeline {
  env: TestEnvironment;
  prefix: string;
  topics: TopicMap;
  serde: ReturnType<typeof createSerde>;
  start(app: string, extraEnv?: Record<string, string>): Promise<RunningApp>;
}

async function pipeline(name: string, redisKind: RedisKind): Promise<Pipeline> {
  const env = testEnvironment();
  const prefix = `${env.uniqueName(name)}.`;
  await env.createTopics(topicSpecs({ prefix, partitions: 4 }).map((s) => ({ topic: s.topic, partitions: s.numPartitions })));
  const logsDir = mkdtempSync(join(tmpdir(), `waybill-${name}-`));
  const appEnv = { KAFKA_BROKERS: env.brokers.join(','), ...env.redisEnvOf(redisKind), SCHEMA_REGISTRY_URL: env.schemaRegistryUrl, API_KEYS: apiKeysSpec(), TOPIC_PREFIX: prefix };
  return {
    env,
    prefix,
    topics: prefixedTopics(prefix),
    serde: createSerde({ registry: kafkajsRegistryClient(env.schemaRegistryUrl) }),
    start: (app, extraEnv = {}) => startAppProcess(app, { ...appEnv, ...extraEnv }, { root: workspaceRoot(), logsDir }),
  };
}

let p: Pipeline;
let redis: RedisClient;
/** The CLI's Redis flags for the Redis this run uses. */
let redisArgs: string[];
let admin: Admin;
let txProducer: Producer;
let plain: Producer;
let keyPrefix: string;
let ledger: RunningApp | undefined;

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

// The records are from 2025: the window stays off, for app and CLI alike, but where a test names one.
const LEDGER_RETENTION_DAYS = '0';

async function waybill(args: string[], extraIo: Partial<CliIo> = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: { SNAPSHOT_EVERY, LEDGER_RETENTION_DAYS }, ...extraIo };
  const connection = ['--bootstrap-server', p.env.brokers.join(','), ...redisArgs, '--registry-url', p.env.schemaRegistryUrl, '--topic-prefix', p.prefix];
  const code = await runCli([...args, ...connection], io);
  return { code, stdout, stderr };
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

/** A shipment's events: created with `units` of one SKU, released, picked one unit at a time, then on to shipped. */
function history(id: string, units: number, start: number, traceId: string): ShipmentEventRecord[] {
  let v = 0;
  const at = () => start + v * 1_000;
  const next = () => (v += 1);
  const total = units * 1_000;
  const out: ShipmentEventRecord[] = [];
  next();
  out.push({
    type: 'ShipmentCreated',
    value: {
      ...envelope(id, v, at(), traceId),
      data: {
        orderId: `ORD-${id}`,
        customerAccountId: `ACC-${id.slice(-1)}`,
        currency: 'EUR',
        lines: [{ sku: 'SKU-A', quantity: units, unitPriceMinor: 1_000 }],
        destination: { name: 'Ada', street: 'Main 1', city: 'Utrecht', postalCode: '3511', country: 'NL' },
        totalMinor: total,
      },
    },
  });
  next();
  out.push({ type: 'ReleasedForPicking', value: { ...envelope(id, v, at(), traceId, 'tom.teamlead'), data: {} } });
  for (let u = 1; u <= units; u += 1) {
    next();
    out.push({ type: 'ItemPicked', value: { ...envelope(id, v, at(), traceId), data: { sku: 'SKU-A', quantity: 1, pickedForSku: u } } });
  }
  next();
  out.push({ type: 'PickingCompleted', value: { ...envelope(id, v, at(), traceId), data: {} } });
  next();
  out.push({ type: 'ShipmentPacked', value: { ...envelope(id, v, at(), traceId), data: { packageCount: 1 } } });
  next();
  out.push({ type: 'ReadyForShipping', value: { ...envelope(id, v, at(), traceId), data: {} } });
  next();
  out.push({
    type: 'ShipmentShipped',
    value: { ...envelope(id, v, at(), traceId), data: { carrier: 'DHL', trackingNumber: `TRK-${id}`, customerAccountId: `ACC-${id.slice(-1)}`, totalMinor: total, currency: 'EUR', serviceLevel: null } },
  });
  return out;
}

function outcome(id: string, at: number, alert: boolean, traceId: string): CommandOutcome {
  return {
    commandId: `c-${id}-${at}`,
    aggregateId: id,
    commandType: alert ? 'ReleaseForPicking' : 'Ship',
    status: alert ? 'Rejected' : 'Accepted',
    version: 3,
    eventIds: alert ? [] : [`c-${id}-3:0`],
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

/** Each account's versions, gapless as the command listener gives them. */
const accountVersions = new Map<string, number>();

function charge(id: string, amountMinor: number, at: number, traceId: string, version: number): TransactionRecorded {
  const accountId = `ACC-${id.slice(-1)}`;
  return {
    eventId: `tx-${id}:0`,
    aggregateId: accountId,
    aggregateType: 'Account',
    version,
    traceId,
    causationId: `acmd-${id}`,
    initiatedBy: 'accounting-listener',
    timestamp: at,
    data: { transactionId: `tx-${id}`, accountId, kind: 'Charge', amountMinor, currency: 'EUR', reason: null, shipmentId: id, sourceEventId: `c-${id}-1:0` },
  };
}

async function encode(topic: LedgerTopic, key: string, record: LedgerInput['record']) {
  return { key, value: await p.serde.encode(topic, record.type as never, record.value as never) };
}

/** Produces shipments' events and outcomes as the reducer does (transactions), transactions plainly. */
async function produceShipments(ids: string[], start: number, withAborted = true): Promise<void> {
  for (const [i, id] of ids.entries()) {
    const traceId = `trace-${id}`;
    const events = history(id, 1 + (i % 4) * 3, start + i * 60_000, traceId);
    const tx = await txProducer.transaction();
    await tx.send({ topic: p.topics.shipmentEvents, messages: await Promise.all(events.map((e) => encode(TOPICS.shipmentEvents, id, e))) });
    await tx.send({
      topic: p.topics.shipmentOutcomes,
      messages: [
        await encode(TOPICS.shipmentOutcomes, id, { type: 'CommandOutcome', value: outcome(id, start + i * 60_000 + 500, false, traceId) }),
        ...(i % 3 === 0 ? [await encode(TOPICS.shipmentOutcomes, id, { type: 'CommandOutcome', value: outcome(id, start + i * 60_000 + 900, true, `trace-r-${id}`) })] : []),
      ],
    });
    await tx.commit();
    const accountId = `ACC-${id.slice(-1)}`;
    const version = (accountVersions.get(accountId) ?? 0) + 1;
    accountVersions.set(accountId, version);
    const record = { type: 'TransactionRecorded', value: charge(id, 1_000 * (i + 1), start + i * 60_000 + 700, traceId, version) } as const;
    // Every other charge twice: the projection must count it once, live and rebuilt alike.
    const copies = i % 2 === 0 ? 2 : 1;
    for (let c = 0; c < copies; c += 1) await plain.send({ topic: p.topics.accountingTransactions, acks: -1, messages: [await encode(TOPICS.accountingTransactions, `ACC-${id.slice(-1)}`, record)] });
  }
  if (!withAborted) return;
  // An aborted transaction: read_committed readers (app and CLI) must never see it.
  const aborted = await txProducer.transaction();
  await aborted.send({ topic: p.topics.shipmentEvents, messages: await Promise.all(history('GHOST-1', 2, start, 'trace-ghost').map((e) => encode(TOPICS.shipmentEvents, 'GHOST-1', e))) });
  await aborted.abort();
}

async function endOffsets(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const topic of [TOPICS.shipmentEvents, TOPICS.shipmentOutcomes, TOPICS.accountingTransactions]) {
    for (const o of await admin.fetchTopicOffsets(p.prefix + topic)) if (o.high !== o.low) out[`${topic}:${o.partition}`] = o.high;
  }
  return out;
}

/** The live key of a ledger document in whichever partition's slot holds it (`{<prefix><partition>}:<suffix>`). */
async function liveKey(suffix: string): Promise<string> {
  const found = await scanKeys(redis, `${ledgerKeyspacePrefix(keyPrefix)}*}:${suffix}`);
  if (found.length !== 1) throw new Error(`${suffix} is in ${found.length} partitions of the live keyspace, not one`);
  return found[0];
}

async function waitForLedger(): Promise<void> {
  const want = await endOffsets();
  const deadline = Date.now() + 60_000;
  for (;;) {
    const have = await readLedgerOffsets(redis, keyPrefix, [0, 1, 2, 3]);
    if (Object.entries(want).every(([field, offset]) => have[field] !== undefined && BigInt(have[field]) >= BigInt(offset))) return;
    if (Date.now() > deadline) throw new Error(`ledger did not catch up: want ${JSON.stringify(want)}, have ${JSON.stringify(have)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function waitForGroupEmpty(groupId: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { groups } = await admin.describeGroups([groupId]);
    if (['Empty', 'Dead'].includes(groups[0]?.state ?? 'Dead')) return;
    if (Date.now() > deadline) throw new Error(`group ${groupId} still ${groups[0]?.state}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function stopLedger(): Promise<void> {
  await ledger?.service.stop(10_000);
  ledger = undefined;
  await waitForGroupEmpty(`${p.prefix}ledger`);
}

// The tools on both Redis deployments: on the cluster, every SCAN visits each master and every
// write of a batch stays in its partition's slot.
describe.each(REDIS_KINDS)('on a %s Redis', (redisKind) => {
  beforeAll(async () => {
    p = await pipeline('cli-ledger', redisKind);
    accountVersions.clear();
    redis = p.env.redisOf(redisKind);
    const { REDIS_URL, REDIS_CLUSTER } = p.env.redisEnvOf(redisKind);
    redisArgs = ['--redis-url', REDIS_URL, ...(REDIS_CLUSTER === 'true' ? ['--redis-cluster'] : [])];
    admin = await p.env.admin();
    keyPrefix = ledgerKeyPrefix(p.prefix);
    await p.serde.registerAll();
    txProducer = p.env.kafka.producer({ transactionalId: `${p.prefix}cli-test-tx`, maxInFlightRequests: 1, idempotent: true });
    plain = p.env.kafka.producer();
    await Promise.all([txProducer.connect(), plain.connect()]);
    await produceShipments(Array.from({ length: 24 }, (_, i) => `S${String(i).padStart(3, '0')}`), T0);
    // Small batches in the app, large ones in the CLI: the keyspace must not depend on batching.
    ledger = await p.start('ledger', { SNAPSHOT_EVERY, LEDGER_RETENTION_DAYS, MAX_BATCH_SIZE: '7' });
    await waitForLedger();
  });

  afterAll(async () => {
    await ledger?.service.stop(10_000);
    await Promise.allSettled([txProducer?.disconnect(), plain?.disconnect()]);
    if (redis) await unlinkKeys(redis, [...(await scanKeys(redis, `${p.prefix}*`)), ...(await scanKeys(redis, `{${p.prefix}*`))]);
    await p?.env.cleanup();
  });

  describe('waybill rebuild ledger / verify ledger', () => {
    it('refuses to rebuild while the ledger app is a live member of its group, naming what to stop', async () => {
      const before = await dumpLedgerKeyspace(redis, keyPrefix);
      const run = await waybill(['rebuild', 'ledger', '--yes']);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/group '.*ledger' is Stable with 1 live member/);
      expect(run.stderr).toContain('Stop the ledger app first');
      expect(await dumpLedgerKeyspace(redis, keyPrefix)).toEqual(before);
    });

    it('verifies a consistent read model while the app keeps running (exit 0)', async () => {
      const run = await waybill(['verify', 'ledger']);
      expect(run.stderr).not.toMatch(/note|warning|error/);
      expect(run.stdout).toContain('identical: every key matches the replay');
      expect(run.code).toBe(0);
    });

    it('rebuilds, once the app is stopped, exactly the keyspace the live app wrote, and leaves the group at the end offsets', async () => {
      await stopLedger();
      const live = await dumpLedgerKeyspace(redis, keyPrefix);
      expect(Object.keys(live).length).toBeGreaterThan(200);
      expect(live[`${keyPrefix}shipment:GHOST-1`]).toBeUndefined();
      expect(Object.keys(live).some((k) => k.endsWith(':snapshots'))).toBe(true);

      // No --yes and no terminal to ask on: refused, nothing touched.
      const unconfirmed = await waybill(['rebuild', 'ledger']);
      expect(unconfirmed.code).toBe(2);
      expect(unconfirmed.stderr).toContain('--yes');
      expect(await dumpLedgerKeyspace(redis, keyPrefix)).toEqual(live);

      const run = await waybill(['rebuild', 'ledger', '--yes', '--progress-interval', '1']);
      expect(run.code).toBe(0);
      // Not a terminal: plain progress lines on stderr, ending at 100 %.
      expect(run.stderr).toMatch(/^rebuild ledger: 100% [\d,]+ records, [\d,]+ events\/s, lag 0, ETA 0s$/m);
      expect(run.stdout).toMatch(/^rebuilt .*ledger:\*: [\d,]+ records projected into [\d,]+ keys in [\d.]+ s \([\d,]+ records\/s\)$/m);
      expect(run.stdout).toContain('now resumes at the end offsets replayed');

      const rebuilt = await dumpLedgerKeyspace(redis, keyPrefix);
      expect(Object.keys(rebuilt)).toEqual(Object.keys(live));
      expect(rebuilt).toEqual(live);

      const committed = await admin.fetchOffsets({ groupId: `${p.prefix}ledger`, topics: [p.topics.shipmentEvents, p.topics.shipmentOutcomes, p.topics.accountingTransactions] });
      const byField = Object.fromEntries(committed.flatMap((t) => t.partitions.map((q) => [`${t.topic.slice(p.prefix.length)}:${q.partition}`, q.offset])));
      for (const [field, end] of Object.entries(await endOffsets())) expect(byField[field]).toBe(end);
    });

    it('writes the same keyspace batch by batch (--write-per-batch) as it plans in memory', async () => {
      const inMemory = await dumpLedgerKeyspace(redis, keyPrefix);
      const run = await waybill(['rebuild', 'ledger', '--yes', '--write-per-batch', '--batch-size', '50']);
      expect(run.code).toBe(0);
      expect(await dumpLedgerKeyspace(redis, keyPrefix)).toEqual(inMemory);
    });

    it('prints the summary as JSON for scripts', async () => {
      const run = await waybill(['rebuild', 'ledger', '--yes', '--output', 'json']);
      expect(run.code).toBe(0);
      const summary = JSON.parse(run.stdout);
      expect(summary).toMatchObject({ groupOffsetsSet: true, keyPrefix, undecodable: 0 });
      expect(summary.records).toBeGreaterThan(300);
      expect(summary.keys).toBe(summary.keysDeleted);
    });

    it('exits 1 with a table of missing, extra and different keys after the live keyspace is tampered with', async () => {
      const shipmentKey = await liveKey('shipment:S005');
      const live = await redis.get(shipmentKey);
      if (live === null) throw new Error(`${shipmentKey} is not in the live keyspace`);
      const doc = JSON.parse(live);
      await redis.set(shipmentKey, JSON.stringify({ ...doc, status: 'Cancelled' }));
      const different = await waybill(['verify', 'ledger']);
      expect(different.code).toBe(1);
      expect(different.stdout).toContain(shipmentKey);
      expect(different.stdout).toMatch(/different/);
      expect(different.stdout).toContain('0 missing, 0 extra, 1 different');
      expect(different.stderr).toContain('differs from a replay of the topics in 1 key(s)');

      const eventKey = await liveKey('event:c-S007-2:0');
      await redis.del(eventKey);
      const bogusKey = ledgerKeys(keyPrefix, 0).shipment('BOGUS');
      await redis.set(bogusKey, '{}');
      const json = await waybill(['verify', 'ledger', '--output', 'json']);
      expect(json.code).toBe(1);
      const result = JSON.parse(json.stdout);
      expect(result.identical).toBe(false);
      expect(result.differences.map((d: { kind: string; key: string }) => [d.kind, d.key])).toEqual([
        ['missing', eventKey],
        ['extra', bogusKey],
        ['different', shipmentKey],
      ].sort(([, a], [, b]) => (a < b ? -1 : 1)));

      // A rebuild repairs it.
      expect((await waybill(['rebuild', 'ledger', '--yes'])).code).toBe(0);
      expect((await waybill(['verify', 'ledger'])).code).toBe(0);
    });

    it('the restarted ledger app carries on from the offsets the rebuild committed', async () => {
      // NOTE: no aborted transaction this time: the ledger app never marks a fetch of only aborted
      // records as reflected (kafkajs does not hand such a fetch to eachBatch), so its offsets would
      // stop short of the end and the wait below could not tell "caught up" from "stuck".
      await produceShipments(['N001', 'N002'], T0 + 3_600_000, false);
      ledger = await p.start('ledger', { SNAPSHOT_EVERY, LEDGER_RETENTION_DAYS, MAX_BATCH_SIZE: '7' });
      await waitForLedger();
      const run = await waybill(['verify', 'ledger']);
      expect(run.stdout).toContain('identical');
      expect(run.code).toBe(0);
      const n002 = await redis.get(await liveKey('shipment:N002'));
      expect(n002).not.toBeNull();
      expect(JSON.parse(n002 ?? 'null')).toMatchObject({ status: 'Shipped' });
      await stopLedger();
    });

    it('archives on rebuild what the retention window would, and verify compares a read model with archived shipments', async () => {
      // S001 and S002 are delivered now; a window of under a second has passed by the rebuild.
      for (const [i, id] of ['S001', 'S002'].entries()) {
        const version = history(id, 1 + ((i + 1) % 4) * 3, T0, 'x').length + 1;
        const delivered = { type: 'ShipmentDelivered', value: { ...envelope(id, version, T0 + 86_400_000, `trace-d-${id}`, 'dan.driver'), data: { receivedBy: 'Ada' } } } as ShipmentEventRecord;
        await plain.send({ topic: p.topics.shipmentEvents, acks: -1, messages: [await encode(TOPICS.shipmentEvents, id, delivered)] });
      }
      await new Promise((r) => setTimeout(r, 1_200));
      const run = await waybill(['rebuild', 'ledger', '--yes', '--retention-days', '0.00001']);
      const counted = /archived: 2 shipment\(s\) closed and (\d+) transaction\(s\) booked longer than 0\.00001 day\(s\) ago/.exec(run.stdout);
      expect(Number(counted?.[1])).toBe([...accountVersions.values()].reduce((a, b) => a + b, 0));
      expect(run.code).toBe(0);
      for (const id of ['S001', 'S002']) {
        expect(JSON.parse((await redis.get(await liveKey(`shipment:${id}`))) ?? 'null')).toMatchObject({ status: 'Delivered', archive: { positions: expect.any(Array) } });
        expect(await scanKeys(redis, `${ledgerKeyspacePrefix(keyPrefix)}*}:event:c-${id}-*`)).toEqual([]);
      }
      expect(await scanKeys(redis, `${ledgerKeyspacePrefix(keyPrefix)}*}:event:c-S003-*`)).not.toEqual([]);

      const verified = await waybill(['verify', 'ledger']);
      expect(verified.stderr).toContain('2 shipment(s) archived by the retention window');
      expect(verified.stderr).toContain(`${counted?.[1]} accounting transaction(s) archived by the retention window`);
      expect(verified.stdout).toContain('identical');
      expect(verified.code).toBe(0);

      // A summary that lost its archive claims its events are in Redis: each one is missing.
      const key = await liveKey('shipment:S001');
      const { archive: _archive, ...unarchived } = JSON.parse((await redis.get(key)) ?? 'null');
      await redis.set(key, JSON.stringify(unarchived));
      const different = await waybill(['verify', 'ledger', '--output', 'json']);
      expect(different.code).toBe(1);
      const differences: Array<{ kind: string; key: string }> = JSON.parse(different.stdout).differences;
      expect(differences.filter((d) => d.kind === 'missing' && d.key.includes(':event:c-S001-')).length).toBeGreaterThan(5);
      expect((await waybill(['rebuild', 'ledger', '--yes', '--retention-days', '0'])).stdout).toContain('archived: 0 shipment(s)');
    });
  });

  describe('waybill rebuild store', () => {
    const stateKey = (partition: number) => storeKeys(`${p.prefix}shipment-reducer`, 'shipments', partition).state;
    const metaKey = (partition: number) => storeKeys(`${p.prefix}shipment-reducer`, 'shipments', partition).meta;

    it("deletes shipment-reducer's state store hashes, those of the layout before hash tags too, and nothing else", async () => {
      await redis.hset(stateKey(0), 'S1', '{}', 'S2', '{}');
      await redis.hset(metaKey(0), 'changelogOffset', '12', 'shapeVersion', '1');
      await redis.hset(metaKey(3), 'changelogOffset', '0', 'shapeVersion', '1');
      const beforeHashTags = `${p.prefix}shipment-reducer:shipments:5:state`;
      await redis.hset(beforeHashTags, 'S9', '{}');
      await redis.set(`${p.prefix}shipment-reducer:shipments:other`, 'keep');
      const run = await waybill(['rebuild', 'store', '--app', 'shipment-reducer', '--yes']);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('deleted 4 key(s)');
      expect(await redis.exists(beforeHashTags)).toBe(0);
      expect(run.stdout).toContain(`restores each partition's store from ${p.topics.shipmentEvents} on its next assignment`);
      // One key per EXISTS: on a cluster the keys are in different slots.
      expect(await Promise.all([stateKey(0), metaKey(0), metaKey(3)].map((k) => redis.exists(k)))).toEqual([0, 0, 0]);
      expect(await redis.get(`${p.prefix}shipment-reducer:shipments:other`)).toBe('keep');
    });

    it('refuses while the reducer group has live members, and refuses apps it does not know', async () => {
      await redis.hset(metaKey(1), 'changelogOffset', '3', 'shapeVersion', '1');
      const consumer = p.env.kafka.consumer({ groupId: `${p.prefix}shipment-reducer` });
      await consumer.connect();
      await consumer.subscribe({ topic: p.topics.shipmentCommands });
      let joined = false;
      consumer.on(consumer.events.GROUP_JOIN, () => (joined = true));
      await consumer.run({ eachMessage: async () => undefined });
      while (!joined) await new Promise((r) => setTimeout(r, 100));
      try {
        const run = await waybill(['rebuild', 'store', '--app', 'shipment-reducer', '--yes']);
        expect(run.code).toBe(1);
        expect(run.stderr).toContain('Stop shipment-reducer first');
        expect(await redis.exists(metaKey(1))).toBe(1);
      } finally {
        await consumer.disconnect();
      }
      const unknown = await waybill(['rebuild', 'store', '--app', 'nope', '--yes']);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain("'nope' is not an app with a state store");
    });
  });
});
