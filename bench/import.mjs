#!/usr/bin/env node
// npm run bench:import: `waybill import observations --execute` on a 100,000-row export, against
// the whole local stack, beside a plain kafkajs producer writing the same records, in one run.
//
// 1. Generates a CSV export (bench/README.md "import" says its shape): shipments each reported as
//    Created, StatusChanged → PendingPicking, LinePicked, StatusChanged → Picked, Packed,
//    StatusChanged → ReadyForShipping, Shipped, Delivered; every --violation-every-th shipment is
//    shipped before it is packed (a forbidden move the reducer must flag).
// 2. Starts Kafka, Redis, the registry, shipment-reducer (its observation intake + the reducer)
//    and the ledger (libs/devstack startStack, free ports, a temp folder).
// 3. Peer, idle topic: a plain kafkajs producer (acks=all) writes the same records, Avro-encoded
//    beforehand, in the same batches, one batch in flight, to bench.import.peer (12 partitions,
//    nothing consumes it): the broker alone.
// 4. Waybill: the CLI binary as its own child process (`--execute --output json`). produce-only =
//    its rows ÷ the time from its first send to its last acknowledgement (the CLI's own timing);
//    command = rows ÷ the process's wall time (reading, ledger look-ups, fold, encoding, produce);
//    end to end = rows ÷ the time from spawning the CLI to the last CommandOutcome of a
//    RecordObservation visible on shipment.outcomes to a read_committed watcher.
// 5. Peer beside it: the same producer writes the same records onto shipment.observations while
//    the reducer consumes them, as it consumed the import's: the produce figure to compare with.
//    It is a second run of the whole export too: every record must be answered and no event
//    written (events on shipment.events counted before and after).
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { machineInfo } from './lib/machine.mjs';
import { runTimes, writeResult } from './lib/results.mjs';
import { readSettings as readBenchSettings, usage as benchUsage } from './lib/settings.mjs';
import { round, table } from './lib/stats.mjs';
import { waitFor, watchTopic } from './lib/watch.mjs';
import { benchWorkDir } from './lib/workdir.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = dirname(benchDir);
const require = createRequire(import.meta.url);

const SETTINGS = {
  rows: { env: 'BENCH_IMPORT_ROWS', type: 'number', default: 100_000, quick: 8_000, help: 'rows in the generated export (8 per shipment)' },
  'violation-every': { env: 'BENCH_IMPORT_VIOLATION_EVERY', type: 'number', default: 50, help: 'every n-th shipment is shipped before it is packed (flagged)' },
  'batch-size': { env: 'BENCH_IMPORT_BATCH_SIZE', type: 'number', default: 2_000, help: "records per produce request (the CLI's --batch-size, and the peer's)" },
  'lookup-concurrency': { env: 'BENCH_IMPORT_LOOKUP_CONCURRENCY', type: 'number', default: 16, help: "the CLI's --lookup-concurrency (ledger look-ups at once)" },
  'timeout-seconds': { env: 'BENCH_IMPORT_TIMEOUT_SECONDS', type: 'number', default: 600, help: 'give up waiting for the outcomes after this long' },
  'kafka-heap-mb': { env: 'BENCH_KAFKA_HEAP_MB', type: 'number', default: 1024, help: 'broker JVM heap' },
  'log-level': { env: 'BENCH_IMPORT_LOG_LEVEL', type: 'string', default: 'warn', help: 'LOG_LEVEL of the apps' },
  'results-dir': { env: 'BENCH_RESULTS_DIR', type: 'string', default: join(benchDir, 'results'), help: 'where the JSON goes' },
  quick: { env: 'BENCH_QUICK', type: 'boolean', default: false, help: 'a small export (a smoke run, not a figure to keep)' },
  help: { type: 'boolean', default: false, help: 'this text' },
};

// The targets: a 100,000-row backfill acknowledged by Kafka in at most 10 s and recorded by the
// reducer in at most 50 s, with the CLI's producing no slower than half a bare kafkajs producer.
const TARGETS = { produceRowsPerSecond: 10_000, produceVsKafkajs: 0.5, endToEndRowsPerSecond: 2_000 };
const PEER_TOPIC = 'bench.import.peer';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const T0 = Date.parse('2024-01-01T08:00:00.000Z');

const HEADER = [
  'shipmentId', 'sourceId', 'process', 'observedBy', 'kind', 'occurredAt', 'toStatus', 'sku', 'quantity', 'packageCount', 'carrier', 'trackingNumber', 'receivedBy', 'reason',
  'orderId', 'customerAccountId', 'currency', 'lines', 'destination.name', 'destination.street', 'destination.city', 'destination.postalCode', 'destination.country',
];

/** One shipment's eight facts as CSV rows; a violating one ships before it is packed. */
function shipmentRows(i, violating) {
  const id = `LEG-${String(i).padStart(7, '0')}`;
  const at = (minutes) => new Date(T0 + i * 1_000 + minutes * 60_000).toISOString();
  const row = (n, fields) => {
    const cells = Object.fromEntries(HEADER.map((h) => [h, '']));
    Object.assign(cells, { shipmentId: id, sourceId: `${id}-${n}`, process: `order-flow-${id}`, ...fields });
    return HEADER.map((h) => cells[h]).join(',');
  };
  const created = row(1, {
    observedBy: 'erp.batch', kind: 'Created', occurredAt: at(0), orderId: `ORD-${i}`, customerAccountId: `ACC-${i % 500}`, currency: 'EUR', lines: `SKU-${i % 97}:2:1250`,
    'destination.name': 'Ada Lovelace', 'destination.street': 'Main 1', 'destination.city': 'Utrecht', 'destination.postalCode': '3511', 'destination.country': 'NL',
  });
  const packed = row(5, { observedBy: 'packer.7', kind: 'Packed', occurredAt: at(40), packageCount: '1' });
  const shipped = row(7, { observedBy: 'dock.2', kind: 'Shipped', occurredAt: at(violating ? 30 : 90), carrier: 'DHL', trackingNumber: `TRK-${i}` });
  return [
    created,
    row(2, { observedBy: 'lead.1', kind: 'StatusChanged', occurredAt: at(5), toStatus: 'PendingPicking' }),
    row(3, { observedBy: 'picker.3', kind: 'LinePicked', occurredAt: at(20), sku: `SKU-${i % 97}`, quantity: '2' }),
    row(4, { observedBy: 'picker.3', kind: 'StatusChanged', occurredAt: at(25), toStatus: 'Picked' }),
    ...(violating ? [shipped, packed] : [packed]),
    row(6, { observedBy: 'lead.1', kind: 'StatusChanged', occurredAt: at(60), toStatus: 'ReadyForShipping' }),
    ...(violating ? [] : [shipped]),
    row(8, { observedBy: 'courier', kind: 'Delivered', occurredAt: at(600), receivedBy: 'front desk' }),
  ];
}

function generateExport(file, rows, violationEvery) {
  const lines = [HEADER.join(',')];
  let shipments = 0;
  for (let i = 0; lines.length - 1 < rows; i += 1) {
    lines.push(...shipmentRows(i, violationEvery > 0 && i % violationEvery === violationEvery - 1));
    shipments += 1;
  }
  lines.length = rows + 1;
  writeFileSync(file, `${lines.join('\n')}\n`);
  return { shipments, rows };
}

/** The plain kafkajs producer: the same pre-encoded records, the same batches, one in flight. */
async function measurePeer(kafka, messages, batchSize, topic) {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const started = performance.now();
    for (let i = 0; i < messages.length; i += batchSize) await producer.send({ topic, acks: -1, messages: messages.slice(i, i + batchSize) });
    const seconds = (performance.now() - started) / 1000;
    return { records: messages.length, seconds: round(seconds, 3), rowsPerSecond: round(messages.length / seconds, 0) };
  } finally {
    await producer.disconnect();
  }
}

function runCli(args, env, logFile) {
  return new Promise((resolve, reject) => {
    const log = createWriteStream(logFile, { flags: 'a' });
    let stdout = '';
    const child = spawn(process.execPath, ['--max-semi-space-size=128', join(root, 'tools', 'cli', 'dist', 'main.js'), ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.pipe(log);
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, exitedAt: performance.now() }));
  });
}

async function main() {
  const settings = readBenchSettings(SETTINGS, process.argv.slice(2));
  if (settings.help) return void process.stdout.write(benchUsage('bench/import.mjs', SETTINGS));
  for (const path of ['libs/devstack/dist/index.js', 'libs/contracts/dist/index.js', 'tools/cli/dist/main.js', 'apps/shipment-reducer/dist/main.js', 'apps/ledger/dist/main.js']) {
    if (!existsSync(join(root, path))) throw new Error(`${path} is not built: run npm run build first`);
  }
  const devstack = require(join(root, 'libs', 'devstack', 'dist', 'index.js'));
  const contracts = require('@waybill/contracts');
  const { readRows } = require(join(root, 'tools', 'cli', 'dist', 'lib', 'import', 'rows.js'));
  const kafkajs = require('kafkajs');
  const progress = devstack.terminalProgress();
  const startedAt = new Date();
  const { workDir, teardown, tearDown } = benchWorkDir('waybill-bench-import-');
  const source = 'legacy-bench';
  const reportedBy = 'import:bench';

  let figures;
  const errors = [];
  try {
    const exportFile = join(workDir, 'export.csv');
    progress.step(`generating a ${settings.rows.toLocaleString('en-US')}-row export`);
    const generated = generateExport(exportFile, settings.rows, settings.violationEvery);
    progress.done(`export: ${generated.rows.toLocaleString('en-US')} rows on ${generated.shipments.toLocaleString('en-US')} shipments (${exportFile})`);

    const stack = await devstack.startStack({
      dataDir: join(workDir, 'stack'),
      freePorts: true,
      kafkaHeapMb: settings.kafkaHeapMb,
      apps: ['shipment-reducer', 'ledger'],
      // The CLI looks up every shipment on the ledger: one key, 12,500+ reads in seconds.
      env: { RATE_LIMIT_PER_MINUTE: '6000000', LOG_LEVEL: settings.logLevel },
      progress,
    });
    teardown.push(() => stack.stop());
    const brokers = stack.kafka.brokers;
    const ledgerUrl = stack.apps.find((a) => a.name === 'ledger')?.url;
    await devstack.ensureTopics(brokers, [{ topic: PEER_TOPIC, numPartitions: 12, replicationFactor: 1, configs: {} }]);
    const kafka = new kafkajs.Kafka({ brokers, clientId: 'bench-import', logLevel: kafkajs.logLevel.NOTHING });
    const serde = contracts.createSerde({ registry: contracts.kafkajsRegistryClient(stack.registry.url) });

    // The peer writes exactly the records the CLI will write: the CLI's own reader on the same file.
    progress.step('encoding the same records for the kafkajs peer');
    const { readFileSync } = await import('node:fs');
    const { rows } = await readRows(readFileSync(exportFile, 'utf8'), 'csv', { reportedBy, source });
    const bad = rows.filter((r) => r.problems.length);
    if (bad.length) throw new Error(`the generated export has ${bad.length} bad rows, e.g. line ${bad[0].line}: ${JSON.stringify(bad[0].problems)}`);
    const messages = [];
    for (const row of rows) messages.push({ key: row.observation.shipmentId, value: await serde.encode('shipment.observations', 'Observation', row.observation) });
    progress.done(`${messages.length.toLocaleString('en-US')} records encoded`);
    progress.step('peer: plain kafkajs producer onto a topic nothing consumes');
    const idlePeer = await measurePeer(kafka, messages, settings.batchSize, PEER_TOPIC);
    progress.done(`peer: ${idlePeer.rowsPerSecond.toLocaleString('en-US')} records/s acknowledged`);

    let answered = 0;
    let alerts = 0;
    let lastOutcomeAt = 0;
    let eventCount = 0;
    const watcher = await watchTopic(kafka, 'shipment.outcomes', async (message, _partition, at) => {
      const outcome = (await serde.decode(message.value, 'shipment.outcomes')).value;
      if (outcome.commandType !== 'RecordObservation') return;
      answered += 1;
      if (outcome.alert) alerts += 1;
      lastOutcomeAt = at;
    });
    teardown.push(() => watcher.stop());
    const eventWatcher = await watchTopic(kafka, 'shipment.events', async () => {
      eventCount += 1;
    });
    teardown.push(() => eventWatcher.stop());

    progress.step('waybill import observations --execute');
    const cliLog = join(workDir, 'cli.log');
    const spawnedAt = performance.now();
    const cli = await runCli(
      ['import', 'observations', '--file', exportFile, '--source', source, '--as', reportedBy, '--execute', '--output', 'json', '--batch-size', String(settings.batchSize), '--lookup-concurrency', String(settings.lookupConcurrency), '--show', '0', '--progress-interval', '5'],
      { KAFKA_BROKERS: brokers.join(','), SCHEMA_REGISTRY_URL: stack.registry.url, LEDGER_URL: ledgerUrl, WAYBILL_API_KEY: 'demo-viewer-key', TOPIC_PREFIX: '' },
      cliLog,
    );
    if (cli.code !== 0) throw new Error(`the CLI exited ${cli.code}; see ${cliLog}: ${readFileSync(cliLog, 'utf8').slice(-500)}`);
    const report = JSON.parse(cli.stdout);
    const commandSeconds = (cli.exitedAt - spawnedAt) / 1000;
    progress.done(`CLI: ${report.produced.toLocaleString('en-US')} rows produced in ${report.timings.produceSeconds} s, exited after ${round(commandSeconds, 2)} s`);
    progress.step('waiting for the reducer to record every observation');
    await waitFor(() => answered >= report.produced, { timeoutMs: settings.timeoutSeconds * 1000, what: 'outcomes on shipment.outcomes', intervalMs: 50 });
    const endToEndSeconds = (lastOutcomeAt - spawnedAt) / 1000;
    const recorded = answered;
    const flagged = alerts;
    await waitFor(() => eventCount >= report.produced, { timeoutMs: 60_000, what: 'events on shipment.events', intervalMs: 50 });
    const eventsAfterImport = eventCount;
    progress.done(`${recorded.toLocaleString('en-US')} recorded ${round(endToEndSeconds, 2)} s after the CLI started (${flagged} flagged, ${eventsAfterImport} events)`);

    // The peer beside the import: the same pre-encoded records onto shipment.observations itself,
    // with the reducer consuming them as it did the import's. It is also a second run of the
    // whole export: the reducer must answer every record and write no new event.
    progress.step('peer: plain kafkajs producer onto shipment.observations (a second run of the export)');
    const peer = await measurePeer(kafka, messages, settings.batchSize, 'shipment.observations');
    progress.done(`peer: ${peer.rowsPerSecond.toLocaleString('en-US')} records/s acknowledged`);
    messages.length = 0;
    progress.step('waiting for the reducer to answer the second run');
    await waitFor(() => answered >= 2 * report.produced, { timeoutMs: settings.timeoutSeconds * 1000, what: 'outcomes of the second run', intervalMs: 50 });
    await sleep(2_000); // any event the second run wrongly wrote would be on shipment.events with its outcome
    const secondRun = { answered: answered - recorded, newEvents: eventCount - eventsAfterImport, recordsNothingNew: eventCount === eventsAfterImport };
    progress.done(`second run: ${secondRun.answered.toLocaleString('en-US')} answered, ${secondRun.newEvents} new events`);

    figures = {
      export: { ...generated, format: 'csv', violatingShipments: settings.violationEvery > 0 ? Math.floor(generated.shipments / settings.violationEvery) : 0 },
      waybill: {
        produced: report.produced,
        plan: report.summary,
        timings: report.timings,
        produceOnly: { seconds: report.timings.produceSeconds, rowsPerSecond: round(report.produced / report.timings.produceSeconds, 0), measuredTo: "the CLI's first send → its last acknowledgement (acks=all, idempotent)" },
        command: { seconds: round(commandSeconds, 3), rowsPerSecond: round(report.summary.rows / commandSeconds, 0), measuredTo: 'spawning the CLI → its exit (read, ledger look-ups, fold, encode, produce)' },
        endToEnd: {
          seconds: round(endToEndSeconds, 3),
          rowsPerSecond: round(report.produced / endToEndSeconds, 0),
          recorded,
          events: eventsAfterImport,
          flagged,
          flaggedAsPlanned: flagged === report.summary.violations,
          measuredTo: 'spawning the CLI → the last RecordObservation outcome visible on shipment.outcomes (read_committed)',
        },
      },
      kafkajsPeer: { ...peer, topic: 'shipment.observations', measuredTo: 'first send → last acknowledgement, the same pre-encoded records and batches, plain producer (acks=all), the reducer consuming meanwhile' },
      kafkajsPeerIdleTopic: { ...idlePeer, topic: PEER_TOPIC, measuredTo: 'the same onto a topic nothing consumes, before the import: the broker alone' },
      secondRun,
      logs: process.env.BENCH_KEEP_WORKDIR ? relative(root, workDir) : null,
    };
  } catch (error) {
    errors.push(String(error?.stack ?? error));
  } finally {
    progress.step('tearing down');
    await tearDown();
    progress.done('torn down');
  }

  const w = figures?.waybill;
  const ratio = w ? round(w.produceOnly.rowsPerSecond / figures.kafkajsPeer.rowsPerSecond, 3) : null;
  const target = (id, description, measured, threshold, extra = {}) => ({ id, description, measured: measured ?? null, threshold, ...extra, pass: measured === null || measured === undefined ? null : measured >= threshold });
  const result = {
    ...runTimes('import', startedAt),
    quick: settings.quick,
    machine: machineInfo(root, devstack.kafkaVersion()),
    settings: { ...settings, skip: undefined, resultsDir: relative(root, settings.resultsDir) || '.' },
    figures: figures ?? null,
    targets: [
      target('produce-10000', `waybill import observations --execute: ≥ ${TARGETS.produceRowsPerSecond.toLocaleString('en-US')} rows/s acknowledged by Kafka (produce only)`, w?.produceOnly.rowsPerSecond, TARGETS.produceRowsPerSecond),
      target('produce-half-of-kafkajs', "the import's produce rate ≥ ½ × a plain kafkajs producer writing the same pre-encoded records in the same batches", ratio, TARGETS.produceVsKafkajs, {
        importRowsPerSecond: w?.produceOnly.rowsPerSecond ?? null,
        kafkajsRowsPerSecond: figures?.kafkajsPeer.rowsPerSecond ?? null,
      }),
      target('second-run-records-nothing', 'the same 100,000 records sent again (the peer): every one answered, no new event on shipment.events', figures?.secondRun ? Number(figures.secondRun.recordsNothingNew) : null, 1, {
        answered: figures?.secondRun.answered ?? null,
        newEvents: figures?.secondRun.newEvents ?? null,
      }),
      target('end-to-end-2000', `every row recorded by the reducer at ≥ ${TARGETS.endToEndRowsPerSecond.toLocaleString('en-US')} rows/s from the CLI's start`, w?.endToEnd.rowsPerSecond, TARGETS.endToEndRowsPerSecond, { flaggedAsPlanned: w?.endToEnd.flaggedAsPlanned ?? null }),
    ],
    ...(errors.length ? { errors } : {}),
  };
  const written = writeResult(settings.resultsDir, 'import', startedAt, result);
  process.stdout.write(
    `\n${table([
      ['figure', 'rows', 'seconds', 'rows/s'],
      ...(w
        ? [
            ['import: produce only', String(w.produced), String(w.produceOnly.seconds), String(w.produceOnly.rowsPerSecond)],
            ['import: whole command', String(w.plan.rows), String(w.command.seconds), String(w.command.rowsPerSecond)],
            ['import: end to end', String(w.endToEnd.recorded), String(w.endToEnd.seconds), String(w.endToEnd.rowsPerSecond)],
            ['kafkajs peer, shipment.observations', String(figures.kafkajsPeer.records), String(figures.kafkajsPeer.seconds), String(figures.kafkajsPeer.rowsPerSecond)],
            ['kafkajs peer, idle topic', String(figures.kafkajsPeerIdleTopic.records), String(figures.kafkajsPeerIdleTopic.seconds), String(figures.kafkajsPeerIdleTopic.rowsPerSecond)],
          ]
        : []),
    ])}\n\n${result.targets.map((t) => `${t.id}: ${t.measured} (threshold ${t.threshold}) ${t.pass === null ? 'not measured' : t.pass ? 'pass' : 'FAIL'}`).join('\n')}\n${errors.length ? `errors:\n${errors.join('\n')}\n` : ''}results: ${written}${settings.quick ? ' (a --quick run: not a figure to keep)' : ''}\n`,
  );
  return errors.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
