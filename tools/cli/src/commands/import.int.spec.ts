import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin, Consumer } from 'kafkajs';
import { createSerde, kafkajsRegistryClient, prefixedTopics, topicSpecs, TOPICS, type CommandOutcome, type TopicMap } from '@waybill/contracts';
import { apiKeysSpec, freePort, startAppProcess, testEnvironment, workspaceRoot, type RunningApp, type TestEnvironment } from '@waybill/devstack';
import { runCli, type CliIo } from '../cli';

/**
 * `waybill import observations` against the real pipeline: Kafka, Redis and the registry of the
 * jest global setup, shipment-reducer (its observation intake and the reducer) and the ledger from
 * their dist/, on a private topic set. The CLI runs in-process, exactly as the binary runs it.
 */
const T0 = Date.parse('2025-03-01T10:00:00.000Z');
const MIN = 60_000;
const AS = 'import:tester';

interface WireEvent {
  type: string;
  aggregateId: string;
  eventId: string;
  version: number;
  timestamp: number;
  initiatedBy: string;
  causationId: string;
  observation: { source: string; sourceId: string; observedBy: string; process: string | null; violation: { transition: string; fromStatus: string; rule: string } | null } | null;
}

let env: TestEnvironment;
let prefix: string;
let topics: TopicMap;
let admin: Admin;
let collector: Consumer;
let dir: string;
let reducer: RunningApp;
let ledger: RunningApp;
const events: WireEvent[] = [];
const outcomes: CommandOutcome[] = [];

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

async function waybill(args: string[], connection: string[] = []): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: { WAYBILL_API_KEY: 'demo-viewer-key', USER: 'tester' } };
  const defaults = ['--bootstrap-server', env.brokers.join(','), '--registry-url', env.schemaRegistryUrl, '--topic-prefix', prefix, '--ledger-url', ledger.url, '--as', AS];
  const code = await runCli(['import', 'observations', ...args, ...defaults, ...connection], io);
  return { code, stdout, stderr };
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Records on shipment.observations: the importer's own output (a plain idempotent producer, no markers). */
async function observationCount(): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topics.shipmentObservations);
  return offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
}

const eventsOf = (shipmentId: string) => events.filter((e) => e.aggregateId === shipmentId).sort((a, b) => a.version - b.version);

/** Waits until the ledger shows `shipmentId` at `version` (so its next look-up sees every event). */
async function ledgerHolds(shipmentId: string, version: number): Promise<void> {
  await until(`the ledger to hold ${shipmentId}@${version}`, async () => {
    const res = await fetch(`${ledger.url}/shipments/${shipmentId}`, { headers: { 'x-api-key': 'demo-viewer-key' } });
    if (res.status !== 200) return undefined;
    const body = (await res.json()) as { version: number };
    return body.version >= version || undefined;
  });
}

const ORDER = 'ORD-1,ACC-1,EUR,SKU-A:2:1250;SKU-B:1:4999,Ada Lovelace,"Main 1, back door",Utrecht,3511,NL';
const HEADER = 'shipmentId,sourceId,process,observedBy,kind,occurredAt,toStatus,sku,quantity,packageCount,carrier,trackingNumber,receivedBy,reason,orderId,customerAccountId,currency,lines,destination.name,destination.street,destination.city,destination.postalCode,destination.country';
const iso = (ms: number) => new Date(ms).toISOString();

/** Two shipments' histories from the legacy WMS; line 5 ships a shipment still being picked. */
const LEGACY_CSV = [
  HEADER,
  `IMP-1,wms-1,flow-1,"de Vries, Jan",Created,${iso(T0)},,,,,,,,,${ORDER}`,
  `IMP-1,wms-2,flow-1,jan,StatusChanged,${T0 + MIN},PendingPicking,,,,,,,,,,,,,,,,`,
  `IMP-1,wms-3,flow-1,piet,LinePicked,${iso(T0 + 2 * MIN)},,SKU-A,2,,,,,,,,,,,,,,`,
  `IMP-1,wms-4,flow-1,kees,Shipped,${iso(T0 + 3 * MIN)},,,,,DHL,TRK-1,,,,,,,,,,,`,
  `IMP-2,wms-5,,jan,Created,${iso(T0 + 10_000)},,,,,,,,,${ORDER.replace('ORD-1', 'ORD-2')}`,
  `IMP-2,wms-6,,anna,Cancelled,${iso(T0 + 60 * MIN)},,,,,,,,customer called,,,,,,,,,`,
  `IMP-1,wms-7,flow-1,courier,Delivered,${iso(T0 + 4 * MIN)},,,,,,,Ada,,,,,,,,,,`,
].join('\n');
const LEGACY_LINES: Record<string, number> = { 'wms-1': T0, 'wms-2': T0 + MIN, 'wms-3': T0 + 2 * MIN, 'wms-4': T0 + 3 * MIN, 'wms-5': T0 + 10_000, 'wms-6': T0 + 60 * MIN, 'wms-7': T0 + 4 * MIN };

beforeAll(async () => {
  env = testEnvironment();
  prefix = `${env.uniqueName('cli-import')}.`;
  topics = prefixedTopics(prefix);
  await env.createTopics(topicSpecs({ prefix, partitions: 4 }).map((s) => ({ topic: s.topic, partitions: s.numPartitions })));
  admin = await env.admin();
  dir = mkdtempSync(join(tmpdir(), 'waybill-import-'));
  const appEnv = { KAFKA_BROKERS: env.brokers.join(','), REDIS_URL: env.redisUrl, SCHEMA_REGISTRY_URL: env.schemaRegistryUrl, API_KEYS: apiKeysSpec(), TOPIC_PREFIX: prefix };
  [reducer, ledger] = await Promise.all([
    startAppProcess('shipment-reducer', appEnv, { root: workspaceRoot(), logsDir: dir }),
    startAppProcess('ledger', appEnv, { root: workspaceRoot(), logsDir: dir }),
  ]);
  const serde = createSerde({ registry: kafkajsRegistryClient(env.schemaRegistryUrl) });
  collector = env.kafka.consumer({ groupId: env.uniqueName('cli-import-collector') });
  await collector.connect();
  await collector.subscribe({ topics: [topics.shipmentEvents, topics.shipmentOutcomes], fromBeginning: true });
  await collector.run({
    eachMessage: async ({ topic, message }) => {
      if (topic === topics.shipmentEvents) {
        const decoded = await serde.decode(message.value, TOPICS.shipmentEvents);
        events.push({ type: decoded.recordName, ...(decoded.value as object) } as WireEvent);
      } else {
        outcomes.push((await serde.decode(message.value, TOPICS.shipmentOutcomes)).value as CommandOutcome);
      }
    },
  });
});

afterAll(async () => {
  await collector?.disconnect();
  await Promise.allSettled([reducer?.service.stop(10_000), ledger?.service.stop(10_000)]);
  const redis = env?.redis();
  const keys = await redis?.keys(`${prefix}*`);
  if (keys?.length) await redis.del(...keys);
  await env?.cleanup();
});

describe('waybill import observations', () => {
  let legacy: string;
  beforeAll(() => {
    legacy = file('legacy.csv', LEGACY_CSV);
  });

  it('dry run: folds the rows onto the ledger state, shows the violation the state machine flags, and produces nothing', async () => {
    const run = await waybill(['--file', legacy, '--source', 'legacy-wms']);
    expect(run.stderr).not.toMatch(/error/);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`reported by ${AS}`);
    expect(run.stdout).toMatch(/│ 5 +│ IMP-1 +│ Shipped +│ 2025-03-01T10:03:00.000Z +│ kees +│ legacy-wms \/ wms-4 +│ Picking → Shipped +│ record +│ VIOLATION Picking → Shipped/);
    expect(run.stdout).toMatch(/│ 2 +│ IMP-1 +│ Created +│ 2025-03-01T10:00:00.000Z +│ de Vries, Jan/);
    expect(run.stdout).toContain('to record: 7 on 2 shipment(s), of which 1 break a rule');
    expect(run.stdout).toContain('dry run: nothing produced; add --execute to produce 7 row(s)');
    expect(await observationCount()).toBe(0);
    expect(events).toHaveLength(0);
  });

  it('--execute records every row with its business time and observation mark, and the forbidden move is flagged', async () => {
    const run = await waybill(['--file', legacy, '--source', 'legacy-wms', '--execute']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`produced 7 row(s) to ${topics.shipmentObservations}`);
    expect(run.stdout).toMatch(/elapsed [\d.]+ s \(read .* produce [\d.]+ s: [\d,]+ rows\/s\)/);
    expect(run.stderr).toMatch(/import observations: 100% 7 of 7 rows/);
    expect(await observationCount()).toBe(7);
    await until('7 events', () => events.length >= 7 || undefined);
    expect(eventsOf('IMP-1').map((e) => e.type)).toEqual(['ShipmentCreated', 'StatusObserved', 'ItemPicked', 'ShipmentShipped', 'ShipmentDelivered']);
    expect(eventsOf('IMP-2').map((e) => e.type)).toEqual(['ShipmentCreated', 'ShipmentCancelled']);
    for (const event of events) {
      expect(event.observation).not.toBeNull();
      const sourceId = event.observation?.sourceId ?? '';
      expect(event.timestamp).toBe(LEGACY_LINES[sourceId]);
      expect(event.observation?.source).toBe('legacy-wms');
      expect(event.initiatedBy).toBe(AS);
    }
    expect(eventsOf('IMP-1')[0].observation).toMatchObject({ observedBy: 'de Vries, Jan', process: 'flow-1', violation: null });
    const shipped = eventsOf('IMP-1')[3];
    expect(shipped.observation).toMatchObject({ sourceId: 'wms-4', observedBy: 'kees', violation: { fromStatus: 'Picking', transition: 'Picking → Shipped' } });
    expect(events.filter((e) => e.observation?.violation)).toHaveLength(1);
    await until('7 outcomes', () => outcomes.length >= 7 || undefined);
    expect(outcomes.filter((o) => o.alert).map((o) => o.violation?.sourceId)).toEqual(['wms-4']);
  });

  it('a second run records nothing new: the ledger shows every row recorded, and a --resend is recorded once by the reducer', async () => {
    await ledgerHolds('IMP-1', 5);
    await ledgerHolds('IMP-2', 2);
    const again = await waybill(['--file', legacy, '--source', 'legacy-wms', '--execute']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already recorded: 7');
    expect(again.stdout).toContain('produced 0 row(s)');
    expect(await observationCount()).toBe(7);

    const resent = await waybill(['--file', legacy, '--source', 'legacy-wms', '--execute', '--resend']);
    expect(resent.code).toBe(0);
    expect(resent.stdout).toContain('produced 7 row(s)');
    expect(await observationCount()).toBe(14);
    // The reducer answered all 14 observations, and wrote the events of the first 7 only.
    await until('14 outcomes', () => outcomes.length >= 14 || undefined);
    expect(outcomes.filter((o) => o.commandType === 'RecordObservation')).toHaveLength(14);
    expect(events).toHaveLength(7);
    const res = await fetch(`${ledger.url}/shipments/IMP-1/events`, { headers: { 'x-api-key': 'demo-viewer-key' } });
    expect(((await res.json()) as { items: unknown[] }).items).toHaveLength(5);
  });

  it('JSONL: bad rows are reported with line and field; refuse produces nothing, skip imports the rest', async () => {
    const rows = [
      { shipmentId: 'IMP-3', source: 'legacy-tms', sourceId: 'tms-1', observedBy: 'jan', kind: 'Created', occurredAt: T0, order: { orderId: 'ORD-3', customerAccountId: 'ACC-3', currency: 'EUR', lines: [{ sku: 'SKU-A', quantity: 1, unitPriceMinor: 100 }], destination: { name: 'A', street: 'B', city: 'C', postalCode: 'D', country: 'NL' } } },
      { shipmentId: 'IMP-3', source: 'legacy-tms', sourceId: 'tms-2', observedBy: 'jan', kind: 'Packed', occurredAt: T0 + MIN },
      { shipmentId: 'IMP-3', source: 'legacy-tms', sourceId: 'tms-3', observedBy: 'jan', kind: 'StatusChanged', toStatus: 'Flying', occurredAt: T0 + 2 * MIN },
      { shipmentId: 'IMP-3', source: 'legacy-tms', sourceId: 'tms-4', observedBy: 'jan', kind: 'StatusChanged', toStatus: 'PendingPicking', occurredAt: '2025-03-01T11:03:00+01:00' },
    ];
    const jsonl = file('legacy.jsonl', `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
    const before = await observationCount();

    const dry = await waybill(['--file', jsonl]);
    expect(dry.code).toBe(1);
    expect(dry.stderr).toContain('2 bad row(s): --execute would refuse the whole file');

    const refused = await waybill(['--file', jsonl, '--execute']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: refused: 2 bad row\(s\) \(lines 2, 3\); nothing was produced/m);
    expect(refused.stdout).toMatch(/│ 2 +│ IMP-3 +│ Packed .*│ BAD ROW +│ packageCount: must be/);
    expect(refused.stdout).toMatch(/│ 3 +│ IMP-3 +│ StatusChanged .*│ BAD ROW +│ toStatus: must be one of/);
    expect(await observationCount()).toBe(before);

    const skipped = await waybill(['--file', jsonl, '--execute', '--on-bad-row', 'skip']);
    expect(skipped.code).toBe(0);
    expect(skipped.stdout).toContain('produced 2 row(s)');
    expect(skipped.stdout).toContain('2 bad row(s) skipped (lines 2, 3)');
    expect(skipped.stdout).toMatch(/│ 2 +│ IMP-3 +│ Packed .*│ BAD ROW +│ packageCount/);
    await until('IMP-3 events', () => eventsOf('IMP-3').length >= 2 || undefined);
    expect(eventsOf('IMP-3').map((e) => [e.type, e.timestamp, e.observation?.sourceId])).toEqual([
      ['ShipmentCreated', T0, 'tms-1'],
      ['StatusObserved', T0 + 3 * MIN, 'tms-4'],
    ]);
  });

  it('CSV: bad rows are reported with line and field under both policies', async () => {
    const csv = file(
      'bad.csv',
      [HEADER, `IMP-4,wms-41,,jan,Created,${iso(T0)},,,,,,,,,${ORDER}`, `IMP-4,wms-42,,jan,LinePicked,${iso(T0 + MIN)},,SKU-A,two,,,,,,,,,,,,,,`, `IMP-4,wms-43,,jan,Packed,10:00,,,,1,,,,,,,,,,,,,`].join('\n'),
    );
    const before = await observationCount();
    const refused = await waybill(['--file', csv, '--source', 'legacy-wms', '--execute']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('refused: 2 bad row(s) (lines 3, 4)');
    expect(refused.stdout).toMatch(/│ 3 +│ IMP-4 +│ LinePicked .*│ BAD ROW +│ quantity: "two" is not a whole number/);
    expect(refused.stdout).toMatch(/│ 4 +│ IMP-4 +│ Packed .*│ BAD ROW +│ occurredAt: must be an ISO 8601 time with a zone/);
    expect(await observationCount()).toBe(before);

    const skipped = await waybill(['--file', csv, '--source', 'legacy-wms', '--execute', '--on-bad-row', 'skip']);
    expect(skipped.code).toBe(0);
    expect(skipped.stdout).toContain('produced 1 row(s)');
    expect(skipped.stdout).toContain('2 bad row(s) skipped (lines 3, 4)');
    expect(await observationCount()).toBe(before + 1);
  });

  it('says in one line what is wrong: a missing file, an unreadable format, an unreachable broker or ledger', async () => {
    const missing = await waybill(['--file', join(dir, 'nope.csv')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.split('\n')[0]).toBe(`error: --file: ${join(dir, 'nope.csv')}: no such file`);

    const txt = await waybill(['--file', file('export.txt', 'x')]);
    expect(txt.code).toBe(2);
    expect(txt.stderr).toMatch(/^error: --format: cannot tell the format/);

    const garbled = await waybill(['--file', file('garbled.csv', 'shipmentId,"sourceId\nIMP-9,x\n')]);
    expect(garbled.code).toBe(1);
    expect(garbled.stderr).toMatch(/^error: .*garbled\.csv: not readable as CSV/);

    const deadPort = await freePort();
    const broker = await waybill(['--file', legacy, '--source', 'legacy-wms', '--execute', '--resend'], ['--bootstrap-server', `127.0.0.1:${deadPort}`]);
    expect(broker.code).toBe(2);
    const errorLines = broker.stderr.split('\n').filter((line) => !line.startsWith('ledger look-up:') && line !== '');
    expect(errorLines).toEqual([expect.stringMatching(new RegExp(`^error: Kafka at 127.0.0.1:${deadPort} cannot be reached: .*ECONNREFUSED`))]);

    const noLedger = await waybill(['--file', legacy, '--source', 'legacy-wms'], ['--ledger-url', `http://127.0.0.1:${deadPort}`]);
    expect(noLedger.code).toBe(2);
    expect(noLedger.stderr).toMatch(new RegExp(`^error: the ledger at http://127.0.0.1:${deadPort} cannot be reached`));
    expect(noLedger.stderr).not.toMatch(/\n\s+at /);
  });
});
