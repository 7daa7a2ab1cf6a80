#!/usr/bin/env node
// `npm run bench:accounting`: Waybill's accounting path, shipment event → updated balance, beside
// the raw kafkajs passthrough, in one run on one machine (docs/ARCHITECTURE.md §10).
//
//   node bench/accounting.mjs [--events 20000] [--quick] [--help]      (npm run build first)
//
// It starts its own Kafka, Redis and schema registry (libs/devstack), creates topicSpecs() of
// @waybill/contracts, and measures
//   1. raw kafkajs passthrough, plain and transactionalFastRetry (bench/lib/passthrough-worker.mjs),
//   2. throughput: N ShipmentShipped events pre-filled on shipment.events, then the three built apps
//      (accounting-listener → accounting.commands → accounting-command-listener →
//      accounting.transactions → account-reducer → Redis) started; done when the reducer's Redis
//      offsets ({account-reducer:<partition>}:offsets) cover all N TransactionRecorded records;
//   3. latency: events produced paced at half the sustained rate; per event, scheduled send time →
//      its TransactionRecorded (matched by data.sourceEventId) visible to a committed-only reader.
// Writes bench/results/accounting-<time>.json and accounting-latest.json, prints a table, tears down.
import { benchWorkDir } from './lib/workdir.mjs';
import { commandOutput, machineInfo, versionOf } from './lib/machine.mjs';
import { readSettings as readBenchSettings, usage as benchUsage } from './lib/settings.mjs';
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

import { latencySummary, rates, round, table } from './lib/stats.mjs';
import { waitFor, watchTopic } from './lib/watch.mjs';
import { encodeShipped } from './lib/accounting-workload.mjs';
import { watchCommitted } from './lib/accounting-watch.mjs';
import { runTimes, writeResult } from './lib/results.mjs';
import { memoryByFamily, perUnit } from './lib/redis-memory.mjs';
import { spawnBenchApp } from './lib/apps.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = dirname(benchDir);
const require = createRequire(import.meta.url);

const APPS = ['accounting-listener', 'accounting-command-listener', 'account-reducer'];

const SETTINGS = {
  events: { env: 'BENCH_ACCOUNTING_EVENTS', type: 'number', default: 20_000, quick: 4_000, help: 'ShipmentShipped events pre-filled for the throughput run' },
  accounts: { env: 'BENCH_ACCOUNTING_ACCOUNTS', type: 'number', default: 500, help: 'customer accounts the events are spread over' },
  'latency-seconds': { env: 'BENCH_LATENCY_SECONDS', type: 'number', default: 10, quick: 4, help: 'length of the paced latency run' },
  'latency-rate': { env: 'BENCH_LATENCY_RATE', type: 'number', default: 0, help: 'events/s of the latency run; 0 = half the measured sustained rate' },
  'passthrough-messages': { env: 'BENCH_PASSTHROUGH_MESSAGES', type: 'number', default: 60_000, quick: 12_000, help: 'messages pre-filled for each passthrough run (as shipments.mjs)' },
  'value-bytes': { env: 'BENCH_VALUE_BYTES', type: 'number', default: 300, help: 'passthrough message value size' },
  keys: { env: 'BENCH_KEYS', type: 'number', default: 10_000, help: 'distinct passthrough keys' },
  'batch-size': { env: 'BENCH_BATCH_SIZE', type: 'number', default: 500, help: 'records per produce / per transaction in the passthrough' },
  'passthrough-modes': { env: 'BENCH_PASSTHROUGH_MODES', type: 'string', default: 'plain,transactionalFastRetry', help: 'passthrough runs: plain, transactional, transactionalFastRetry' },
  'fast-retry-ms': { env: 'BENCH_FAST_RETRY_MS', type: 'number', default: 10, help: 'kafkajs initialRetryTime of transactionalFastRetry' },
  'partitions-concurrently': { env: 'BENCH_PARTITIONS_CONCURRENTLY', type: 'number', default: 4, help: 'partitions processed at once by the passthrough' },
  'poll-ms': { env: 'BENCH_ACCOUNTING_POLL_MS', type: 'number', default: 10, help: 'how often the reducer\'s Redis offsets are read' },
  'phase-timeout-seconds': { env: 'BENCH_PHASE_TIMEOUT_SECONDS', type: 'number', default: 120, help: 'give up on a measurement after this long' },
  'kafka-heap-mb': { env: 'BENCH_KAFKA_HEAP_MB', type: 'number', default: 1024, help: 'broker JVM heap' },
  skip: { env: 'BENCH_SKIP', type: 'string', default: '', help: 'comma list of passthrough,waybill to leave out' },
  'results-dir': { env: 'BENCH_RESULTS_DIR', type: 'string', default: join(benchDir, 'results'), help: 'where the JSON goes' },
  quick: { env: 'BENCH_QUICK', type: 'boolean', default: false, help: 'small sizes (a smoke run, not a figure to keep)' },
  quiet: { env: 'BENCH_QUIET', type: 'boolean', default: false, help: 'no progress lines' },
  help: { type: 'boolean', default: false, help: 'this text' },
};

const TARGETS = { sustainedTransactionsPerSecond: 5_000, archivedHistoryRatioToLive: 0.2 };

const readSettings = (argv) => readBenchSettings(SETTINGS, argv);

function usage() {
  return benchUsage('bench/accounting.mjs', SETTINGS);
}

// ---------------------------------------------------------------------------------------------
// Small helpers (as in shipments.mjs)
// ---------------------------------------------------------------------------------------------
function loadWorkspace() {
  const missing = ['devstack', 'contracts', 'streams'].filter((lib) => !existsSync(join(root, 'libs', lib, 'dist', 'index.js')));
  const apps = APPS.filter((app) => !existsSync(join(root, 'apps', app, 'dist', 'main.js')));
  if (missing.length || apps.length) throw new Error(`not built (${[...missing, ...apps].join(', ')} have no dist/): run npm run build first`);
  return {
    devstack: require(join(root, 'libs', 'devstack', 'dist', 'index.js')),
    contracts: require('@waybill/contracts'),
    streams: require('@waybill/streams'),
    kafkajs: require('kafkajs'),
    Redis: require('ioredis'),
  };
}

function forkChild(script, args, { logFile } = {}) {
  const log = logFile ? createWriteStream(logFile, { flags: 'a' }) : undefined;
  const child = fork(script, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  child.stdout.pipe(log ?? process.stderr, { end: false });
  child.stderr.pipe(log ?? process.stderr, { end: false });
  const firstMessage = new Promise((resolveMessage, reject) => {
    child.once('message', resolveMessage);
    child.once('exit', (code, signal) => reject(new Error(`${relative(root, script)} exited (${code ?? signal}) before reporting${logFile ? `; see ${logFile}` : ''}`)));
  });
  firstMessage.catch(() => undefined);
  return { child, firstMessage };
}

function stopChild(child, graceMs = 10_000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveStop) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolveStop();
    });
    child.kill('SIGTERM');
  });
}

function tail(file, lines = 25) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function createBenchTopics(kafkajs, brokers, topics) {
  const admin = new kafkajs.Kafka({ brokers, clientId: 'bench-admin', logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: false, topics: topics.map(({ topic, partitions }) => ({ topic, numPartitions: partitions, replicationFactor: 1 })) });
    const names = topics.map((t) => t.topic);
    for (let attempt = 0; ; attempt++) {
      const meta = await admin.fetchTopicMetadata({ topics: names }).catch(() => undefined);
      const ok = meta?.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0 && p.partitionErrorCode === 0));
      if (ok) break;
      if (attempt > 100) throw new Error(`topics ${names.join(', ')} have no leaders after 10 s`);
      await sleep(100);
    }
  } finally {
    await admin.disconnect();
  }
}

async function produceAll(producer, topic, messages, { chunk = 2_000, inFlight = 4 } = {}) {
  const started = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < messages.length) {
      const slice = messages.slice(next, (next += chunk));
      await producer.send({ topic, acks: -1, messages: slice });
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return (performance.now() - started) / 1000;
}

// ---------------------------------------------------------------------------------------------
// 1. Raw kafkajs passthrough (the same peer and rules as shipments.mjs)
// ---------------------------------------------------------------------------------------------
async function measurePassthrough({ kafka, kafkajs, brokers, settings, progress, workDir }) {
  const N = settings.passthroughMessages;
  const inputTopic = 'bench.passthrough.in';
  const modes = settings.passthroughModes.split(',').map((m) => m.trim()).filter(Boolean);
  for (const m of modes) if (!['plain', 'transactional', 'transactionalFastRetry'].includes(m)) throw new Error(`unknown passthrough mode ${m}`);
  await createBenchTopics(kafkajs, brokers, [inputTopic, ...modes.map((m) => `bench.passthrough.out.${m}`)].map((topic) => ({ topic, partitions: 12 })));

  progress.step(`pre-filling ${inputTopic} with ${N} messages of ${settings.valueBytes} bytes`);
  const pad = 'x'.repeat(settings.valueBytes);
  const messages = Array.from({ length: N }, (_, i) => {
    const key = `SHP-${String(i % settings.keys).padStart(7, '0')}`;
    const head = JSON.stringify({ i, key, type: 'ShipmentShipped', at: Date.now(), pad: '' });
    return { key, value: Buffer.from(head.slice(0, -2) + pad.slice(0, Math.max(0, settings.valueBytes - head.length)) + '"}') };
  });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const prefillSeconds = await produceAll(producer, inputTopic, messages);
  await producer.disconnect();
  progress.done(`${inputTopic}: ${N} messages in ${prefillSeconds.toFixed(1)} s`);

  const out = { messages: N, valueBytes: messages[0].value.length, partitions: 12, distinctKeys: Math.min(N, settings.keys), batchSize: settings.batchSize, partitionsConcurrently: settings.partitionsConcurrently };
  for (const mode of modes) {
    const outputTopic = `bench.passthrough.out.${mode}`;
    progress.step(`passthrough (${mode}): ${N} messages ${inputTopic} → ${outputTopic}`);
    const arrivals = [];
    const watcher = await watchTopic(kafka, outputTopic, (_m, _p, at) => void arrivals.push(at));
    const started = performance.now();
    const logFile = join(workDir, `passthrough-${mode}.log`);
    const { child, firstMessage } = forkChild(
      join(benchDir, 'lib', 'passthrough-worker.mjs'),
      [JSON.stringify({ brokers, inputTopic, outputTopic, groupId: `bench-passthrough-${mode}`, mode, batchSize: settings.batchSize, partitionsConcurrently: settings.partitionsConcurrently, retryInitialMs: mode === 'transactionalFastRetry' ? settings.fastRetryMs : undefined })],
      { logFile },
    );
    let died;
    child.once('exit', (code, signal) => (died = `worker exited (${code ?? signal}); see ${logFile}`));
    try {
      await firstMessage;
      const ticker = setInterval(() => progress.update(`${arrivals.length}/${N} on ${outputTopic}`), 500);
      try {
        await waitFor(() => arrivals.length >= N, { timeoutMs: settings.phaseTimeoutSeconds * 1000, what: `passthrough ${mode}`, failed: () => died });
      } finally {
        clearInterval(ticker);
      }
    } finally {
      await stopChild(child);
      await watcher.stop();
    }
    const r = rates(arrivals.slice(0, N), started);
    out[mode] = { ...r, kafkajsInitialRetryMs: mode === 'transactionalFastRetry' ? settings.fastRetryMs : 300 };
    progress.done(`passthrough (${mode}): ${r.sustainedPerSecond} msg/s sustained, ${r.overallPerSecond} msg/s over ${r.wallSeconds} s from process start`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// 2 + 3. Waybill's accounting path: shipment event → TransactionRecorded → balance in Redis
// ---------------------------------------------------------------------------------------------
async function measureWaybillAccounting({ brokers, redisUrl, registryUrl, settings, progress, workDir, ws, teardown }) {
  const { contracts, streams, devstack, kafkajs, Redis } = ws;
  const { TOPICS } = contracts;
  const kafka = new kafkajs.Kafka({ brokers, clientId: 'bench-accounting', logLevel: kafkajs.logLevel.ERROR });
  const serde = contracts.createSerde({ registry: contracts.kafkajsRegistryClient(registryUrl) });
  await serde.registerAll();
  const N = settings.events;
  const accounts = Math.max(1, Math.min(settings.accounts, N));
  const runTag = randomUUID().slice(0, 8);

  progress.step(`encoding ${N} ShipmentShipped events (${accounts} accounts) and pre-filling ${TOPICS.shipmentEvents}`);
  const prefill = await encodeShipped(serde, TOPICS.shipmentEvents, runTag, 0, N, { accounts, timestamp: Date.now() });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  const prefillSeconds = await produceAll(producer, TOPICS.shipmentEvents, prefill.map((p) => p.message), { chunk: 2_000, inFlight: 1 });
  progress.done(`${TOPICS.shipmentEvents}: ${N} ShipmentShipped in ${prefillSeconds.toFixed(1)} s`);

  // Every TransactionRecorded, per partition in offset order, matched to our events by sourceEventId.
  const expected = new Map(); // shipment eventId → { phase, scheduledAt }
  for (const p of prefill) expected.set(p.eventId, { phase: 'throughput' });
  const recorded = new Map(); // partition → [{ offset, mine }]
  const seen = { throughputTopic: [], latencyTopic: [], latencyTopicMs: [], throughputBalance: [], latencyBalanceMs: [], latencyBalance: 0, unknown: 0, undecodable: 0, notCharge: 0 };
  const watcher = await watchCommitted(kafka, TOPICS.accountingTransactions, streams.committedMessages, async (message, partition, at) => {
    let tx;
    try {
      const decoded = await serde.decode(message.value, TOPICS.accountingTransactions);
      if (decoded.recordName !== 'TransactionRecorded') return;
      tx = decoded.value;
    } catch {
      seen.undecodable++;
      return;
    }
    const mine = expected.get(tx.data.sourceEventId);
    if (!mine) {
      seen.unknown++;
      return;
    }
    expected.delete(tx.data.sourceEventId);
    if (tx.data.kind !== 'Charge') seen.notCharge++;
    if (!recorded.has(partition)) recorded.set(partition, { list: [], reflected: 0 });
    recorded.get(partition).list.push({ offset: BigInt(message.offset), mine });
    if (mine.phase === 'throughput') seen.throughputTopic.push(at);
    else {
      seen.latencyTopic.push(at);
      seen.latencyTopicMs.push(at - mine.scheduledAt);
    }
  });

  // The reducer's Redis read model: each partition's {account-reducer:<partition>}:offsets = partition → next offset reflected.
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  const slotOf = (partition) => `{account-reducer:${partition}}`;
  let polling = true;
  let pollError;
  const poll = async () => {
    while (polling) {
      try {
        const hash = Object.assign({}, ...(await Promise.all([...recorded.keys()].map((p) => redis.hgetall(`${slotOf(p)}:offsets`)))));
        const now = performance.now();
        for (const [field, value] of Object.entries(hash)) {
          const part = recorded.get(Number(field));
          if (!part) continue;
          const upTo = BigInt(value);
          while (part.reflected < part.list.length && part.list[part.reflected].offset < upTo) {
            const { mine } = part.list[part.reflected++];
            if (mine.phase === 'throughput') seen.throughputBalance.push(now);
            else {
              seen.latencyBalance++;
              seen.latencyBalanceMs.push(now - mine.scheduledAt);
            }
          }
        }
      } catch (err) {
        pollError = err;
      }
      await sleep(settings.pollMs);
    }
  };

  const children = [];
  // Ctrl-C mid-run: the apps are stopped before the broker goes (teardown runs last-in first).
  teardown.push(() => Promise.all(children.map((c) => stopChild(c, 5_000))));
  const logFiles = {};
  let died;
  const started = performance.now();
  const polling$ = poll();
  progress.step(`starting ${APPS.join(', ')} on ${N} waiting events`);
  for (const app of APPS) {
    const port = await devstack.freePort();
    const logFile = join(workDir, `${app}.log`);
    logFiles[app] = logFile;
    const child = spawnBenchApp(join(root, 'apps', app, 'dist', 'main.js'), { root, devstack, brokers, redisUrl, registryUrl, port, logFile, logLevel: process.env.BENCH_APP_LOG_LEVEL ?? 'warn' });
    child.once('exit', (code, signal) => (died ??= `${app} exited (${code ?? signal}):\n${tail(logFile)}`));
    children.push(child);
  }
  const timeoutMs = settings.phaseTimeoutSeconds * 1000;
  const failed = () => died ?? (pollError && !polling ? String(pollError) : undefined);
  try {
    // (a) throughput: all N transactions reflected in the reducer's Redis
    const ticker = setInterval(() => progress.update(`${seen.throughputTopic.length}/${N} transactions recorded, ${seen.throughputBalance.length}/${N} in balances`), 500);
    try {
      await waitFor(() => seen.throughputBalance.length >= N, { timeoutMs, what: 'accounting throughput', failed });
    } finally {
      clearInterval(ticker);
    }
    const throughput = { ...rates(seen.throughputBalance, started), transactions: N, measuredTo: 'account-reducer Redis offsets cover the TransactionRecorded' };
    const recordedRates = { ...rates(seen.throughputTopic, started), measuredTo: 'TransactionRecorded visible on accounting.transactions (committed-only reader)' };
    progress.done(`accounting: ${throughput.sustainedPerSecond} transactions/s sustained, ${throughput.overallPerSecond}/s over ${throughput.wallSeconds} s from process start`);

    // The balances themselves: every account's version and balance add up to what was sent.
    const ids = [...new Set(prefill.map((p) => p.accountId))];
    // An account is in the slot of its partition: look in each.
    const partitions = [...recorded.keys()];
    const snapshots = await Promise.all(
      ids.map(async (id) => {
        const texts = await Promise.all(partitions.map((p) => redis.get(`${slotOf(p)}:account:${id}`)));
        const text = texts.find(Boolean);
        return text ? JSON.parse(text) : null;
      }),
    );
    const check = {
      accounts: ids.length,
      accountsFound: snapshots.filter(Boolean).length,
      versionsSum: snapshots.reduce((a, s) => a + (s?.version ?? 0), 0),
      balanceSumMinor: snapshots.reduce((a, s) => a + (s?.balanceMinor ?? 0), 0),
      expectedBalanceSumMinor: prefill.reduce((a, p) => a + p.totalMinor, 0),
    };
    check.ok = check.accountsFound === check.accounts && check.versionsSum === N && check.balanceSumMinor === check.expectedBalanceSumMinor;
    progress.done(`balances: ${check.accountsFound}/${check.accounts} accounts, versions sum ${check.versionsSum}/${N}, balances ${check.ok ? 'match' : 'DO NOT match'}`);

    // What N transactions cost in Redis: the command listener's state store and the reducer's balances (nothing else writes here).
    const memory = {
      ...perUnit(await memoryByFamily(redis, '*'), N, 'Transaction'),
      accounts: ids.length,
      measuredBy: 'MEMORY USAGE … SAMPLES 0 of every key in the bench\'s own Redis after the throughput run, by family (bench/lib/redis-memory.mjs)',
    };
    progress.done(`Redis: ${memory.bytesPerTransaction} B per transaction in ${memory.keys} keys (${ids.length} accounts)`);

    // The history window (HISTORY_RETENTION_DAYS): account-reducer's own archive, as its pass runs
    // it, with the cutoff put past now so every entry moves to its account's compact archive.
    const historyWindow = require(join(root, 'apps', 'account-reducer', 'dist', 'history-window.js'));
    const reducerKeys = '{account-reducer:*';
    const reducerLive = perUnit(await memoryByFamily(redis, reducerKeys), N, 'Transaction');
    const archiveBegan = performance.now();
    let moved = 0;
    for (const partition of partitions) moved += await historyWindow.archiveEntriesBefore(redis, '', partition, Date.now() + 60_000);
    const archiveSeconds = (performance.now() - archiveBegan) / 1000;
    const reducerArchived = perUnit(await memoryByFamily(redis, reducerKeys), N, 'Transaction');
    memory.historyWindow = {
      entriesArchived: moved,
      seconds: round(archiveSeconds, 3),
      entriesPerSecond: round(moved / Math.max(archiveSeconds, 0.001), 0),
      live: reducerLive,
      archived: reducerArchived,
      ratioArchivedToLive: reducerLive.bytes ? round(reducerArchived.bytes / reducerLive.bytes, 3) : null,
      measuredBy: "account-reducer's keys only (`{account-reducer:*`), before and after archiveEntriesBefore over every partition",
    };
    progress.done(`history window: ${moved} entries archived at ${memory.historyWindow.entriesPerSecond}/s; account-reducer ${reducerLive.bytesPerTransaction} → ${reducerArchived.bytesPerTransaction} B per transaction (${memory.historyWindow.ratioArchivedToLive}×)`);

    // (b) latency at half that rate, from each event's scheduled send time
    const rate = settings.latencyRate > 0 ? settings.latencyRate : Math.max(1, Math.floor(throughput.sustainedPerSecond / 2));
    const total = Math.max(1, Math.round(rate * settings.latencySeconds));
    progress.step(`latency: ${total} events at ${rate}/s (${settings.latencySeconds} s)`);
    const t0Wall = Date.now() + 500;
    const schedule = await encodeShipped(serde, TOPICS.shipmentEvents, `${runTag}L`, 0, total, { accounts, timestamp: (i) => t0Wall + Math.round((i * 1000) / rate) });
    const t0 = performance.now() + Math.max(0, t0Wall - Date.now());
    schedule.forEach((s, i) => expected.set(s.eventId, { phase: 'latency', scheduledAt: t0 + (i * 1000) / rate }));
    let issued = 0;
    let sendError;
    const sendLoop = async () => {
      while (issued < schedule.length) {
        const due = Math.min(schedule.length, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
        if (due > issued) {
          const batch = schedule.slice(issued, due).map((s) => s.message);
          issued = due;
          await producer.send({ topic: TOPICS.shipmentEvents, acks: -1, messages: batch });
        } else {
          await sleep(Math.max(1, Math.min(5, t0 + (issued * 1000) / rate - performance.now())));
        }
      }
    };
    await sleep(Math.max(0, t0 - performance.now()));
    const sending = sendLoop().catch((err) => (sendError = err));
    const ticker2 = setInterval(() => progress.update(`${issued} sent, ${seen.latencyTopic.length} recorded, ${seen.latencyBalance} in balances`), 500);
    try {
      await waitFor(() => (seen.latencyTopic.length >= total && seen.latencyBalance >= total) || sendError !== undefined, { timeoutMs: settings.latencySeconds * 1000 + timeoutMs, what: 'accounting latency', failed });
    } finally {
      clearInterval(ticker2);
    }
    await sending;
    if (sendError) throw sendError;
    const lastScheduled = t0 + ((total - 1) * 1000) / rate;
    const latency = {
      targetRatePerSecond: rate,
      achievedRatePerSecond: round(total / ((lastScheduled - t0) / 1000 || 1), 0),
      events: total,
      seconds: settings.latencySeconds,
      ...latencySummary(seen.latencyTopicMs),
      measuredFrom: 'scheduled send time of the ShipmentShipped',
      measuredTo: 'its TransactionRecorded (data.sourceEventId) visible to a committed-only reader',
      toBalance: { ...latencySummary(seen.latencyBalanceMs), measuredTo: `account-reducer Redis offsets cover it (polled every ${settings.pollMs} ms)` },
    };
    progress.done(`accounting latency at ${rate}/s: p50 ${latency.p50Ms} ms, p99 ${latency.p99Ms} ms (to balance: p99 ${latency.toBalance.p99Ms} ms)`);
    return {
      workload: 'ShipmentShipped → Charge',
      apps: APPS.map((a) => `apps/${a}/dist/main.js`),
      events: N,
      accounts,
      eventValueBytesMean: round(prefill.reduce((a, p) => a + p.message.value.length, 0) / N, 0),
      throughput,
      transactionsRecorded: recordedRates,
      balances: check,
      memory,
      latency,
      records: { unknown: seen.unknown, undecodable: seen.undecodable, notCharge: seen.notCharge },
    };
  } finally {
    polling = false;
    await polling$.catch(() => undefined);
    await Promise.all(children.map((c) => stopChild(c, 15_000)));
    await watcher.stop();
    await producer.disconnect().catch(() => undefined);
    redis.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------
function evaluateTargets(figures) {
  const measured = figures.waybill?.throughput?.sustainedPerSecond ?? null;
  const plain = figures.passthrough?.plain?.sustainedPerSecond ?? null;
  const fast = figures.passthrough?.transactionalFastRetry?.sustainedPerSecond ?? null;
  return [
    {
      id: 'transactions-5000',
      description: 'Waybill records at least 5,000 transactions/s end to end (shipment event → updated balance in Redis), sustained',
      measured,
      threshold: TARGETS.sustainedTransactionsPerSecond,
      ratioToPlainPassthrough: measured !== null && plain ? round(measured / plain, 3) : null,
      ratioToTransactionalFastRetryPassthrough: measured !== null && fast ? round(measured / fast, 3) : null,
      pass: measured === null ? null : measured >= TARGETS.sustainedTransactionsPerSecond,
    },
    (() => {
      const ratio = figures.waybill?.memory?.historyWindow?.ratioArchivedToLive ?? null;
      return {
        id: 'archived-history-under-20-percent',
        description: "account-reducer's Redis bytes once every transaction is past the retention window, at most 0.2× of those with every entry whole",
        measured: ratio,
        threshold: TARGETS.archivedHistoryRatioToLive,
        pass: ratio === null ? null : ratio <= TARGETS.archivedHistoryRatioToLive,
      };
    })(),
  ];
}

function printTable(result) {
  const f = result.figures;
  const fmt = (x, unit = '') => (x === null || x === undefined ? '—' : `${Number(x).toLocaleString('en-US')}${unit}`);
  const rows = [['measurement', 'sustained /s', 'overall /s', 'p50 ms', 'p99 ms', 'note']];
  if (f.waybill) {
    rows.push(['waybill accounting (transactions)', fmt(f.waybill.throughput.sustainedPerSecond), fmt(f.waybill.throughput.overallPerSecond), '', '', `${f.waybill.events} events → balances, 3 apps`]);
    rows.push(['  TransactionRecorded visible', fmt(f.waybill.transactionsRecorded.sustainedPerSecond), fmt(f.waybill.transactionsRecorded.overallPerSecond), '', '', 'accounting.transactions']);
    rows.push([`  latency @ ${f.waybill.latency.targetRatePerSecond}/s`, '', '', fmt(f.waybill.latency.p50Ms), fmt(f.waybill.latency.p99Ms), 'event → TransactionRecorded']);
    rows.push(['  … to balance', '', '', fmt(f.waybill.latency.toBalance.p50Ms), fmt(f.waybill.latency.toBalance.p99Ms), 'event → Redis offsets']);
  }
  if (f.passthrough) {
    for (const mode of ['plain', 'transactional', 'transactionalFastRetry']) {
      const r = f.passthrough[mode];
      if (r) rows.push([`kafkajs passthrough ${mode}`, fmt(r.sustainedPerSecond), fmt(r.overallPerSecond), '', '', `${f.passthrough.messages} msgs x ${f.passthrough.valueBytes} B`]);
    }
  }
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
  const { devstack, kafkajs, contracts } = ws;
  const progress = settings.quiet ? devstack.silentProgress : devstack.terminalProgress();
  const startedAt = new Date();
  const { workDir, teardown, tearDown, interrupted } = benchWorkDir('waybill-bench-accounting-');

  const figures = {};
  const errors = {};
  const machine = machineInfo(root, devstack.kafkaVersion());
  try {
    const kafkaHandle = await devstack.startKafka(
      { dataDir: join(workDir, 'kafka'), brokerPort: await devstack.freePort(), controllerPort: await devstack.freePort(), heapMb: settings.kafkaHeapMb },
      progress,
    );
    teardown.push(() => kafkaHandle.stop());
    const brokers = kafkaHandle.brokers;
    const redisHandle = await devstack.startRedis({ dataDir: join(workDir, 'redis'), port: await devstack.freePort() }, progress);
    teardown.push(() => redisHandle.stop());
    const registry = await devstack.startSchemaRegistry({ port: await devstack.freePort(), brokers, logsDir: workDir }, progress);
    teardown.push(() => registry.stop());
    const created = await devstack.ensureTopics(brokers, contracts.topicSpecs());
    progress.done(`topics: ${created.join(', ')}`);
    const kafka = new kafkajs.Kafka({ brokers, clientId: 'bench', logLevel: kafkajs.logLevel.NOTHING });

    if (!settings.skip.has('passthrough')) {
      try {
        figures.passthrough = await measurePassthrough({ kafka, kafkajs, brokers, settings, progress, workDir });
      } catch (err) {
        errors.passthrough = String(err?.stack ?? err);
        progress.done(`passthrough failed: ${err.message}`);
      }
    }
    if (!settings.skip.has('waybill')) {
      try {
        figures.waybill = await measureWaybillAccounting({ brokers, redisUrl: redisHandle.url, registryUrl: registry.url, settings, progress, workDir, ws, teardown });
      } catch (err) {
        errors.waybill = String(err?.stack ?? err);
        progress.done(`Waybill failed: ${err.message}`);
      }
    }
  } finally {
    progress.step('tearing down');
    await tearDown();
    progress.done('torn down');
  }

  // Ctrl-C: measurements cut short are no figures; the signal handler exits once torn down.
  if (interrupted()) return new Promise(() => undefined);
  const finishedAt = new Date();
  const result = {
    ...runTimes('accounting', startedAt, finishedAt),
    quick: settings.quick,
    machine,
    settings: { ...settings, skip: [...settings.skip], resultsDir: relative(root, settings.resultsDir) || '.' },
    figures,
    targets: evaluateTargets(figures),
    ...(Object.keys(errors).length ? { errors } : {}),
  };
  const written = writeResult(settings.resultsDir, 'accounting', startedAt, result);
  process.stdout.write(`\n${printTable(result)}\n\nresults: ${written} (and accounting-latest.json)\n`);
  return Object.keys(errors).length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`bench:accounting failed: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
