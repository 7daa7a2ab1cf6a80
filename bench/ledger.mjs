#!/usr/bin/env node
// `npm run bench:ledger`: the ledger's read side (docs/ARCHITECTURE.md §10), measured beside a peer in one run:
//   (a) projection rebuild throughput: N shipment events (Avro, contracts serde) on shipment.events,
//       rebuilt by spawning the built CLI, `waybill rebuild ledger` (the operator's code path);
//   (b) asOf latency for ONE shipment with 10,000 events, with snapshots (SNAPSHOT_EVERY=100) and
//       without (SNAPSHOT_EVERY > events), through the ledger app's HTTP endpoint
//       (GET /shipments/:id?asOf=…, the app spawned from apps/ledger/dist) and in-process through
//       LedgerReader.stateAt; and the two other time axes over HTTP: knownAt= (recorded time: the
//       Kafka record timestamps, set one second apart) and asOf=…&knownAt=… (both);
//   (c) the same asOf on Emmett + PostgreSQL (aggregateStream up to the instant).
// Writes bench/results/ledger-<time>.json and ledger-latest.json and prints a table.
//
//   node bench/ledger.mjs [--quick] [--help]        (npm run build first)
import { machineInfo, versionOf } from './lib/machine.mjs';
import { benchWorkDir } from './lib/workdir.mjs';
import { existsSync, readFileSync } from 'node:fs';
import { execFile, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startPostgres } from './lib/postgres.mjs';
import { latencySummary, round, table } from './lib/stats.mjs';
import { measureEmmettAsOf } from './lib/ledger-emmett.mjs';
import { foldWithDomain, shipmentEvents } from './lib/ledger-workload.mjs';
import { runTimes, writeResult } from './lib/results.mjs';
import { memoryByFamily, perUnit, usedMemory } from './lib/redis-memory.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = dirname(benchDir);
const require = createRequire(import.meta.url);
const cliEntry = join(root, 'tools', 'cli', 'dist', 'main.js');

const SETTINGS = {
  events: { env: 'BENCH_LEDGER_EVENTS', default: 100_000, quick: 20_000, help: 'shipment events rebuilt in (a)' },
  'events-per-shipment': { env: 'BENCH_LEDGER_EVENTS_PER_SHIPMENT', default: 10, help: 'events of each shipment in (a)' },
  'asof-events': { env: 'BENCH_LEDGER_ASOF_EVENTS', default: 10_000, quick: 2_000, help: 'events of the one shipment in (b)/(c)' },
  'asof-requests': { env: 'BENCH_LEDGER_ASOF_REQUESTS', default: 400, quick: 100, help: 'asOf reads per Waybill variant' },
  'emmett-requests': { env: 'BENCH_LEDGER_EMMETT_REQUESTS', default: 100, quick: 30, help: 'asOf reads on Emmett (each reads the whole stream)' },
  'snapshot-every': { env: 'BENCH_LEDGER_SNAPSHOT_EVERY', default: 100, help: "the ledger's SNAPSHOT_EVERY for the snapshot variant" },
  'batch-size': { env: 'BENCH_LEDGER_BATCH_SIZE', default: 1_000, help: 'records per atomic Redis write in the rebuild' },
  'partitions-concurrently': { env: 'BENCH_LEDGER_PARTITIONS_CONCURRENTLY', default: 4, help: 'partitions rebuilt in parallel' },
  'kafka-heap-mb': { env: 'BENCH_KAFKA_HEAP_MB', default: 1024, help: 'broker JVM heap' },
  quick: { env: 'BENCH_QUICK', boolean: true, default: false, help: 'small sizes (a smoke run)' },
  skip: { env: 'BENCH_SKIP', string: true, default: '', help: 'comma list of rebuild,asof,emmett to leave out' },
  help: { boolean: true, default: false, help: 'this text' },
};
// Requests before the measured ones on each series (JIT, connection and Redis warm-up).
const WARMUP = 50;
// A closed shipment past the window keeps its summary and its events' positions only.
const TARGETS = { rebuildEventsPerSecond: 50_000, asOfP99Ms: 20, bitemporalP99Ms: 10, archivedRatioToLive: 0.2 };

function readSettings(argv) {
  const { values } = parseArgs({ args: argv, options: Object.fromEntries(Object.entries(SETTINGS).map(([k, s]) => [k, { type: s.boolean ? 'boolean' : 'string' }])), strict: true });
  const quick = values.quick ?? (process.env.BENCH_QUICK ? process.env.BENCH_QUICK !== '0' : false);
  const out = {};
  for (const [name, s] of Object.entries(SETTINGS)) {
    const raw = values[name] ?? (s.env ? process.env[s.env] : undefined);
    const camel = name.replace(/-(\w)/g, (_, c) => c.toUpperCase());
    if (raw === undefined || raw === '') out[camel] = quick && s.quick !== undefined ? s.quick : s.default;
    else if (s.boolean) out[camel] = raw === true || raw === 'true' || raw === '1';
    else if (s.string) out[camel] = String(raw);
    else {
      const n = Number(raw);
      if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name}: '${raw}' is not a positive number`);
      out[camel] = n;
    }
  }
  out.quick = quick;
  out.skip = new Set(out.skip.split(',').map((s) => s.trim()).filter(Boolean));
  return out;
}

function usage() {
  return `node bench/ledger.mjs [options]\n\n${Object.entries(SETTINGS)
    .map(([k, s]) => `  --${k.padEnd(26)} ${s.help} (default ${s.default}${s.quick !== undefined ? `, quick ${s.quick}` : ''}${s.env ? `; $${s.env}` : ''})`)
    .join('\n')}\n`;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function loadWorkspace() {
  const libs = ['devstack', 'contracts', 'shipment-domain', 'shipment-messages', 'ledger-projections'];
  const missing = libs.filter((lib) => !existsSync(join(root, 'libs', lib, 'dist', 'index.js')));
  if (missing.length || !existsSync(cliEntry) || !existsSync(join(root, 'apps', 'ledger', 'dist', 'main.js'))) {
    throw new Error(`not built (${[...missing, 'tools/cli', 'apps/ledger'].join(', ')} need dist/): run npm run build first`);
  }
  return {
    devstack: require(join(root, 'libs', 'devstack', 'dist', 'index.js')),
    contracts: require('@waybill/contracts'),
    domain: require('@waybill/shipment-domain'),
    messages: require('@waybill/shipment-messages'),
    projections: require('@waybill/ledger-projections'),
    kafkajs: require('kafkajs'),
    Redis: require('ioredis'),
  };
}

async function produceEncoded(producer, topic, messages) {
  // One send at a time on an idempotent producer: each shipment's events keep their order.
  for (let i = 0; i < messages.length; i += 5_000) await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 5_000) });
}

async function encodeAll(serde, records, topic) {
  const out = [];
  for (const r of records) out.push({ key: r.value.aggregateId, value: await serde.encode(topic, r.type, r.value) });
  return out;
}

/** Runs the built CLI; resolves with its parsed JSON stdout and wall time. */
function runCli(args, env) {
  return new Promise((resolve, reject) => {
    const began = performance.now();
    // The node flags the binary's own launcher passes (its `#!/usr/bin/env -S node …` line), so the
    // bench runs the CLI as an operator does; BENCH_CLI_NODE_ARGS (e.g. "--cpu-prof
    // --cpu-prof-dir=/tmp/prof") adds to them.
    const launcherArgs = (/^#!\/usr\/bin\/env -S node(.*)$/m.exec(readFileSync(cliEntry, 'utf8').split('\n', 1)[0])?.[1] ?? '').split(' ').filter(Boolean);
    const nodeArgs = [...launcherArgs, ...(process.env.BENCH_CLI_NODE_ARGS ?? '').split(' ').filter(Boolean)];
    execFile(process.execPath, [...nodeArgs, cliEntry, ...args], { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const wallSeconds = (performance.now() - began) / 1000;
      if (err) reject(new Error(`waybill ${args.slice(0, 2).join(' ')} failed (${err.code}): ${stderr.trim().split('\n').slice(-5).join('\n')}`));
      else resolve({ json: JSON.parse(stdout), stderr, wallSeconds, nodeArgs });
    });
  });
}

// (a) ------------------------------------------------------------------------------------------
async function measureRebuild({ ws, stack, settings, progress }) {
  const { contracts, projections, devstack } = ws;
  const prefix = 'rb.';
  await devstack.ensureTopics(stack.brokers, contracts.topicSpecs({ prefix }));
  const shipments = Math.ceil(settings.events / settings.eventsPerShipment);
  progress.step(`encoding ${shipments * settings.eventsPerShipment} shipment events (${shipments} shipments) with the contracts serde`);
  const records = [];
  const start = Date.parse('2026-01-01T08:00:00Z');
  for (let s = 0; s < shipments; s += 1) records.push(...shipmentEvents(`RB${String(s).padStart(7, '0')}`, settings.eventsPerShipment, { start: start + s * 10, finish: true, cancel: true }));
  const check = foldWithDomain(ws.domain, ws.messages, records.slice(0, settings.eventsPerShipment));
  const encoded = await encodeAll(stack.serde, records, contracts.TOPICS.shipmentEvents);
  const producer = stack.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await produceEncoded(producer, prefix + contracts.TOPICS.shipmentEvents, encoded);
  await producer.disconnect();
  progress.done(`${prefix}shipment.events: ${encoded.length} events, ${round(encoded.reduce((a, m) => a + m.value.length, 0) / encoded.length, 0)} B each; each shipment ends ${check.status}`);

  progress.step('waybill rebuild ledger (the built CLI, child process)');
  const redis = new ws.Redis(stack.redisUrl);
  const usedBefore = await usedMemory(redis);
  const { json, wallSeconds, nodeArgs } = await runCli(
    ['rebuild', 'ledger', '--yes', '--output', 'json', '--snapshot-every', String(settings.snapshotEvery), '--batch-size', String(settings.batchSize), '--partitions-concurrently', String(settings.partitionsConcurrently), '--progress-interval', '5'],
    { KAFKA_BROKERS: stack.brokers.join(','), REDIS_URL: stack.redisUrl, SCHEMA_REGISTRY_URL: stack.registryUrl, TOPIC_PREFIX: prefix },
  );
  // What the projection made of it: every event applied, every shipment counted once; and what the
  // read model of these events costs in Redis (the rebuild writes nothing else).
  // Each partition's slot counts its own shipments.
  const partitions = [...Array(contracts.topicSpecs({ prefix }).find((t) => t.topic === prefix + contracts.TOPICS.shipmentEvents).numPartitions).keys()];
  const counts = {};
  for (const partition of partitions) {
    for (const [status, n] of Object.entries(await redis.hgetall(projections.ledgerKeys(projections.ledgerKeyPrefix(prefix), partition).statusCounts))) counts[status] = (counts[status] ?? 0) + Number(n);
  }
  const usedAfter = await usedMemory(redis);
  const memory = {
    ...perUnit(await memoryByFamily(redis, `${projections.ledgerKeyspacePrefix(projections.ledgerKeyPrefix(prefix))}*`), encoded.length, 'Event'),
    usedMemoryDeltaBytes: usedAfter - usedBefore,
    usedMemoryBytesPerEvent: round((usedAfter - usedBefore) / encoded.length, 1),
    measuredBy: 'MEMORY USAGE … SAMPLES 0 of every ledger key, by family (bench/lib/redis-memory.mjs); usedMemoryDelta: INFO memory used_memory after − before the rebuild',
  };
  progress.done(`ledger read model: ${memory.bytesPerEvent} B per event in ${memory.keys} keys (used_memory ${memory.usedMemoryBytesPerEvent} B per event)`);

  // Every shipment is closed: what stays in Redis once the retention window has archived them all
  // (the ledger's own archive, as its pruner runs it; the window's cutoff is put past now).
  progress.step('archiving every closed shipment (the retention window, LEDGER_RETENTION_DAYS)');
  const keyPrefix = projections.ledgerKeyPrefix(prefix);
  const archiveBegan = performance.now();
  let archivedCount = 0;
  for (const partition of partitions) archivedCount += (await projections.archiveClosedBefore(redis, keyPrefix, partition, Date.now() + 60_000)).archived;
  const archiveSeconds = (performance.now() - archiveBegan) / 1000;
  const archivedMemory = perUnit(await memoryByFamily(redis, `${projections.ledgerKeyspacePrefix(keyPrefix)}*`), encoded.length, 'Event');
  const archived = {
    shipments: archivedCount,
    seconds: round(archiveSeconds, 3),
    shipmentsPerSecond: round(archivedCount / Math.max(archiveSeconds, 0.001), 0),
    memory: { ...archivedMemory, bytesPerShipment: round(archivedMemory.bytes / shipments, 1) },
    bytesPerShipmentLive: round(memory.bytes / shipments, 1),
    ratioToLive: round(archivedMemory.bytes / memory.bytes, 3),
    measuredBy: 'MEMORY USAGE … SAMPLES 0 of every ledger key after archiveClosedBefore (libs/ledger-projections) over every partition',
  };
  await redis.quit();
  progress.done(`archived ${archivedCount} shipments in ${archived.seconds} s: ${archived.memory.bytesPerShipment} B per shipment left in Redis (${archived.bytesPerShipmentLive} B before, ${archived.ratioToLive}×)`);
  progress.done(`rebuild: ${json.records} records in ${json.replaySeconds} s = ${json.recordsPerSecond} events/s (process ${round(wallSeconds, 2)} s)`);
  return {
    events: encoded.length,
    shipments,
    eventsPerShipment: settings.eventsPerShipment,
    records: json.records,
    keys: memory.keys,
    statusCounts: counts,
    memory,
    archived,
    replaySeconds: json.replaySeconds,
    eventsPerSecond: json.recordsPerSecond,
    commandSeconds: json.seconds,
    processWallSeconds: round(wallSeconds, 3),
    processEventsPerSecond: round(json.records / wallSeconds, 0),
    batchSize: settings.batchSize,
    partitionsConcurrently: settings.partitionsConcurrently,
    cliNodeArgs: nodeArgs,
    measuredFrom: 'first fetch of the replay consumer',
    measuredTo: 'the last Redis write of the rebuild (net writes of each batch streamed as MULTI/EXEC during the replay)',
  };
}

// (b) ------------------------------------------------------------------------------------------
async function measureAsOf({ ws, stack, settings, progress, events, shipmentId, variant, snapshotEvery, workDir }) {
  const { contracts, devstack, projections } = ws;
  const prefix = `asof-${variant}.`;
  await devstack.ensureTopics(stack.brokers, contracts.topicSpecs({ prefix, partitions: 1 }));
  const producer = stack.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  // Recorded time (the Kafka record timestamp, as the reducer's producer sets it): one second apart,
  // ending now, so knownAt instants spread over the history like asOf instants do (and stay within
  // the topic's retention).
  const recordedFirst = Date.now() - events.length * 1_000;
  const recordedAt = (i) => recordedFirst + i * 1_000;
  const encoded = (await encodeAll(stack.serde, events, contracts.TOPICS.shipmentEvents)).map((m, i) => ({ ...m, timestamp: String(recordedAt(i)) }));
  await produceEncoded(producer, prefix + contracts.TOPICS.shipmentEvents, encoded);
  await producer.disconnect();

  progress.step(`ledger app (${variant}: SNAPSHOT_EVERY=${snapshotEvery}) projecting ${events.length} events of ${shipmentId}`);
  const app = await devstack.startAppProcess(
    'ledger',
    { KAFKA_BROKERS: stack.brokers.join(','), REDIS_URL: stack.redisUrl, SCHEMA_REGISTRY_URL: stack.registryUrl, API_KEYS: devstack.apiKeysSpec(), TOPIC_PREFIX: prefix, SNAPSHOT_EVERY: String(snapshotEvery), LOG_LEVEL: 'warn', NODE_ENV: 'production' },
    { root, logsDir: workDir },
  );
  const redis = new ws.Redis(stack.redisUrl);
  try {
    const keyPrefix = projections.ledgerKeyPrefix(prefix);
    const reader = new projections.LedgerReader(redis, keyPrefix, () => [0]);
    const deadline = Date.now() + 60_000;
    while ((await reader.shipment(shipmentId))?.version !== events.length) {
      if (Date.now() > deadline) throw new Error(`ledger (${variant}) did not project ${events.length} events within 60 s`);
      await sleep(100);
    }
    const snapshots = await redis.zcard(projections.ledgerKeys(keyPrefix, 0).shipmentSnapshots(shipmentId));
    const first = events[0].value.timestamp;
    const last = events[events.length - 1].value.timestamp;
    // Instants spread evenly over the history (a fixed sequence, the same for every system).
    const instant = (i) => first + Math.floor(((i * 7919) % 1000) / 1000 * (last - first)) + 500;
    const key = devstack.DEMO_KEYS.find((k) => k.role === 'viewer').key;
    const http = [];
    let sample;
    for (let i = -WARMUP; i < settings.asofRequests; i += 1) {
      const at = new Date(instant(Math.max(0, i))).toISOString();
      const began = performance.now();
      const res = await fetch(`${app.url}/shipments/${shipmentId}?asOf=${at}`, { headers: { 'x-api-key': key } });
      const body = await res.json();
      const ms = performance.now() - began;
      if (res.status !== 200) throw new Error(`asOf answered ${res.status}: ${JSON.stringify(body).slice(0, 200)}`);
      if (i >= 0) http.push(ms);
      sample ??= body;
    }
    // The recorded axis (knownAt) and both axes, over HTTP, at instants spread the same way.
    const known = (i) => recordedFirst + Math.floor(((i * 104729) % 1000) / 1000 * (recordedAt(events.length - 1) - recordedFirst)) + 500;
    const timed = async (query) => {
      const out = [];
      for (let i = -WARMUP; i < settings.asofRequests; i += 1) {
        const began = performance.now();
        const res = await fetch(`${app.url}/shipments/${shipmentId}?${query(Math.max(0, i))}`, { headers: { 'x-api-key': key } });
        const body = await res.json();
        const ms = performance.now() - began;
        if (res.status !== 200) throw new Error(`${query(0)} answered ${res.status}: ${JSON.stringify(body).slice(0, 200)}`);
        if (i >= 0) out.push(ms);
      }
      return out;
    };
    const knownAtHttp = await timed((i) => `knownAt=${new Date(known(i)).toISOString()}`);
    const bothHttp = await timed((i) => `asOf=${new Date(instant(i)).toISOString()}&knownAt=${new Date(known(i)).toISOString()}`);
    const inProcess = [];
    const folded = [];
    for (let i = -WARMUP; i < settings.asofRequests; i += 1) {
      const began = performance.now();
      const state = await reader.stateAt(shipmentId, instant(Math.max(0, i)));
      if (i >= 0) {
        inProcess.push(performance.now() - began);
        folded.push(state.eventsFolded);
      }
    }
    const result = {
      snapshotEvery,
      snapshots,
      events: events.length,
      http: { ...latencySummary(http), path: 'GET /shipments/:id?asOf= on the ledger app (child process, Redis)' },
      knownAtHttp: { ...latencySummary(knownAtHttp), path: 'GET /shipments/:id?knownAt= (recorded axis) on the ledger app' },
      bothAxesHttp: { ...latencySummary(bothHttp), path: 'GET /shipments/:id?asOf=&knownAt= (both axes) on the ledger app' },
      reader: { ...latencySummary(inProcess), path: 'LedgerReader.stateAt in the bench process (Redis)' },
      eventsFoldedMean: round(folded.reduce((a, b) => a + b, 0) / folded.length, 1),
      sampleAnswerKeys: Object.keys(sample ?? {}),
    };
    progress.done(`asOf ${variant}: HTTP p50 ${result.http.p50Ms} ms, p99 ${result.http.p99Ms} ms; knownAt p99 ${result.knownAtHttp.p99Ms} ms; both p99 ${result.bothAxesHttp.p99Ms} ms; reader p50 ${result.reader.p50Ms} ms, p99 ${result.reader.p99Ms} ms (${snapshots} snapshots, ${result.eventsFoldedMean} events folded on average)`);
    return { result, instant };
  } finally {
    await redis.quit();
    await app.service.stop(10_000);
  }
}

function evaluateTargets(f) {
  const rebuild = f.rebuild?.eventsPerSecond ?? null;
  const archivedRatio = f.rebuild?.archived?.ratioToLive ?? null;
  const snapP99 = f.asOf?.withSnapshots?.http.p99Ms ?? null;
  const knownP99 = f.asOf?.withSnapshots?.knownAtHttp?.p99Ms ?? null;
  const bothP99 = f.asOf?.withSnapshots?.bothAxesHttp?.p99Ms ?? null;
  const under = (x, limit) => (x === null ? null : x <= limit);
  const emmettP99 = f.emmett?.p99Ms ?? null;
  const verdict = (ok) => (ok === null ? null : ok);
  return [
    { id: 'rebuild-50000', description: 'projection rebuild ≥ 50,000 events/s (waybill rebuild ledger)', measured: rebuild, threshold: TARGETS.rebuildEventsPerSecond, pass: verdict(rebuild === null ? null : rebuild >= TARGETS.rebuildEventsPerSecond) },
    {
      id: 'archived-under-20-percent',
      description: 'Redis bytes of closed shipments after the retention window archived them ≤ 0.2× before (same shipments, same run)',
      measured: archivedRatio,
      threshold: TARGETS.archivedRatioToLive,
      pass: under(archivedRatio, TARGETS.archivedRatioToLive),
    },
    { id: 'asof-p99-20ms', description: 'asOf p99 < 20 ms with snapshots, 10,000-event shipment (HTTP)', measured: snapP99, threshold: TARGETS.asOfP99Ms, pass: verdict(snapP99 === null ? null : snapP99 < TARGETS.asOfP99Ms) },
    { id: 'asof-business-p99-10ms', description: 'asOf (business axis) p99 ≤ 10 ms with snapshots, 10,000-event shipment (HTTP)', measured: snapP99, threshold: TARGETS.bitemporalP99Ms, pass: under(snapP99, TARGETS.bitemporalP99Ms) },
    { id: 'knownat-p99-10ms', description: 'knownAt (recorded axis) p99 ≤ 10 ms with snapshots, 10,000-event shipment (HTTP)', measured: knownP99, threshold: TARGETS.bitemporalP99Ms, pass: under(knownP99, TARGETS.bitemporalP99Ms) },
    { id: 'both-axes-p99-10ms', description: 'asOf + knownAt (both axes) p99 ≤ 10 ms with snapshots, 10,000-event shipment (HTTP)', measured: bothP99, threshold: TARGETS.bitemporalP99Ms, pass: under(bothP99, TARGETS.bitemporalP99Ms) },
    { id: 'asof-ahead-of-emmett', description: 'asOf p99 with snapshots (HTTP) below Emmett aggregateStream p99', measured: snapP99, threshold: emmettP99, ratio: snapP99 && emmettP99 ? round(emmettP99 / snapP99, 1) : null, pass: verdict(snapP99 === null || emmettP99 === null ? null : snapP99 < emmettP99) },
  ];
}

function printTable(result) {
  const f = result.figures;
  const fmt = (x) => (x === null || x === undefined ? '—' : Number(x).toLocaleString('en-US'));
  const rows = [['measurement', 'events/s', 'p50 ms', 'p99 ms', 'note']];
  if (f.rebuild) rows.push(['waybill rebuild ledger', fmt(f.rebuild.eventsPerSecond), '', '', `${fmt(f.rebuild.records)} events, ${fmt(f.rebuild.keys)} keys, ${f.rebuild.replaySeconds} s`]);
  for (const [name, label] of [['withSnapshots', 'snapshots'], ['withoutSnapshots', 'no snapshots']]) {
    const r = f.asOf?.[name];
    if (!r) continue;
    rows.push([`asOf HTTP, ${label}`, '', fmt(r.http.p50Ms), fmt(r.http.p99Ms), `${fmt(r.events)} events, every ${fmt(r.snapshotEvery)}; ${r.eventsFoldedMean} folded`]);
    if (r.knownAtHttp) rows.push([`knownAt HTTP, ${label}`, '', fmt(r.knownAtHttp.p50Ms), fmt(r.knownAtHttp.p99Ms), 'recorded axis']);
    if (r.bothAxesHttp) rows.push([`asOf+knownAt HTTP, ${label}`, '', fmt(r.bothAxesHttp.p50Ms), fmt(r.bothAxesHttp.p99Ms), 'both axes']);
    rows.push([`asOf LedgerReader, ${label}`, '', fmt(r.reader.p50Ms), fmt(r.reader.p99Ms), 'in-process']);
  }
  if (f.emmett) rows.push(['emmett aggregateStream asOf', '', fmt(f.emmett.p50Ms), fmt(f.emmett.p99Ms), `${fmt(f.emmett.events)} events in one stream`]);
  const lines = [table(rows), '', table([['target', 'measured', 'threshold', 'result'], ...result.targets.map((t) => [t.id, fmt(t.measured), fmt(t.threshold), t.pass === null ? 'not measured' : t.pass ? 'PASS' : 'FAIL'])])];
  for (const [name, error] of Object.entries(result.errors ?? {})) lines.push(`error in ${name}: ${error.split('\n')[0]}`);
  return lines.join('\n');
}

async function main() {
  const settings = readSettings(process.argv.slice(2));
  if (settings.help) {
    process.stdout.write(usage());
    return 0;
  }
  const ws = loadWorkspace();
  const { devstack, contracts, kafkajs } = ws;
  const progress = devstack.terminalProgress();
  const startedAt = new Date();
  const { workDir, teardown, tearDown } = benchWorkDir('waybill-bench-ledger-');

  const figures = {};
  const errors = {};
  const machine = machineInfo(root, devstack.kafkaVersion(), { postgres: null });
  try {
    const kafkaHandle = await devstack.startKafka({ dataDir: join(workDir, 'kafka'), brokerPort: await devstack.freePort(), controllerPort: await devstack.freePort(), heapMb: settings.kafkaHeapMb }, progress);
    teardown.push(() => kafkaHandle.stop());
    const redisHandle = await devstack.startRedis({ dataDir: join(workDir, 'redis'), port: await devstack.freePort() }, progress);
    teardown.push(() => redisHandle.stop());
    const registry = await devstack.startSchemaRegistry({ port: await devstack.freePort(), brokers: kafkaHandle.brokers, logsDir: workDir }, progress);
    teardown.push(() => registry.stop());
    const serde = contracts.createSerde({ registry: contracts.kafkajsRegistryClient(registry.url) });
    await serde.registerAll();
    const stack = { brokers: kafkaHandle.brokers, redisUrl: redisHandle.url, registryUrl: registry.url, serde, kafka: new kafkajs.Kafka({ brokers: kafkaHandle.brokers, clientId: 'bench-ledger', logLevel: kafkajs.logLevel.NOTHING }) };

    if (!settings.skip.has('rebuild')) {
      try {
        figures.rebuild = await measureRebuild({ ws, stack, settings, progress });
      } catch (err) {
        errors.rebuild = String(err?.stack ?? err);
        progress.done(`rebuild failed: ${err.message}`);
      }
    }
    const shipmentId = 'ASOF-1';
    const events = shipmentEvents(shipmentId, settings.asofEvents, { start: Date.parse('2026-02-01T08:00:00Z'), stepMs: 1_000 });
    const final = foldWithDomain(ws.domain, ws.messages, events);
    if (final.version !== settings.asofEvents) throw new Error(`workload bug: ${shipmentId} folds to version ${final.version}`);
    let instant;
    if (!settings.skip.has('asof')) {
      try {
        const withSnapshots = await measureAsOf({ ws, stack, settings, progress, events, shipmentId, variant: 'snap', snapshotEvery: settings.snapshotEvery, workDir });
        const withoutSnapshots = await measureAsOf({ ws, stack, settings, progress, events, shipmentId, variant: 'nosnap', snapshotEvery: settings.asofEvents * 2, workDir });
        instant = withSnapshots.instant;
        figures.asOf = { shipmentEvents: events.length, withSnapshots: withSnapshots.result, withoutSnapshots: withoutSnapshots.result };
      } catch (err) {
        errors.asOf = String(err?.stack ?? err);
        progress.done(`asOf failed: ${err.message}`);
      }
    }
    if (!settings.skip.has('emmett')) {
      try {
        const peerDir = join(benchDir, 'peers', 'emmett');
        if (!existsSync(join(peerDir, 'node_modules', '@event-driven-io', 'emmett-postgresql', 'package.json'))) {
          progress.step("installing the Emmett peer's packages (npm ci --prefix bench/peers/emmett)");
          execFileSync('npm', ['ci', '--prefix', peerDir, '--no-audit', '--no-fund'], { stdio: ['ignore', 'ignore', 'inherit'] });
        }
        const postgres = await startPostgres({ port: await devstack.freePort() }, progress);
        teardown.push(() => postgres.stop());
        machine.postgres = postgres.version;
        progress.step(`Emmett: appending ${events.length} events to one stream, then ${settings.emmettRequests} asOf reads`);
        const first = events[0].value.timestamp;
        const last = events[events.length - 1].value.timestamp;
        const run = await measureEmmettAsOf({
          peerDir,
          connectionString: postgres.connectionString,
          events,
          requests: settings.emmettRequests,
          instants: instant ?? ((i) => first + Math.floor((((i * 7919) % 1000) / 1000) * (last - first)) + 500),
        });
        figures.emmett = {
          package: `@event-driven-io/emmett-postgresql@${versionOf(join(peerDir, 'node_modules', '@event-driven-io', 'emmett-postgresql', 'package.json'))}`,
          events: run.events,
          appendSeconds: round(run.appendSeconds, 2),
          ...latencySummary(run.latencies),
          path: 'aggregateStream over the whole stream, evolve ignoring events after the instant (in the bench process)',
        };
        progress.done(`Emmett asOf: p50 ${figures.emmett.p50Ms} ms, p99 ${figures.emmett.p99Ms} ms`);
      } catch (err) {
        errors.emmett = String(err?.stack ?? err);
        progress.done(`Emmett failed: ${err.message}`);
      }
    }
  } finally {
    progress.step('tearing down');
    await tearDown();
    progress.done('torn down');
  }

  const finishedAt = new Date();
  const result = {
    ...runTimes('ledger', startedAt, finishedAt),
    quick: settings.quick,
    machine,
    settings: { ...settings, skip: [...settings.skip] },
    figures,
    targets: evaluateTargets(figures),
    ...(Object.keys(errors).length ? { errors } : {}),
  };
  const written = writeResult(join(benchDir, 'results'), 'ledger', startedAt, result);
  process.stdout.write(`\n${printTable(result)}\n\nresults: ${written} (and ledger-latest.json)\n`);
  return Object.keys(errors).length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`bench:ledger failed: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
