#!/usr/bin/env node
// `npm run bench:account-history`: does booking a transaction cost more on an account with a long
// history? An account with --history transactions (1,000,000 by default) and a fresh account, in
// one run on one broker: the fresh account is the peer.
//
//   node bench/account-history.mjs [--history 1000000] [--samples 150] [--listener <main.js>] [--quick] [--help]
//
// It starts its own Kafka, Redis and schema registry (libs/devstack), creates topicSpecs() of
// @waybill/contracts, writes the big account's history straight onto accounting.transactions (as
// accounting-command-listener would have booked it: versions 1..N, one transactionId each), opens
// the fresh account with one charge, then starts accounting-command-listener (--listener, the
// built app by default: point it at another checkout's dist/main.js to measure that code). The
// listener restores its state store from the changelog; then payments go to the two accounts in
// turn, one at a time, each timed from its produce to its TransactionRecorded visible to a
// committed-only reader. Writes bench/results/account-history-<time>.json and
// account-history-latest.json with `targets`.
import { machineInfo } from './lib/machine.mjs';
import { benchWorkDir } from './lib/workdir.mjs';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { latencySummary, round, table } from './lib/stats.mjs';
import { watchCommitted } from './lib/accounting-watch.mjs';
import { runTimes, writeResult } from './lib/results.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = dirname(benchDir);
const require = createRequire(import.meta.url);

const OPTIONS = {
  history: { type: 'string', default: '1000000', quick: '20000', help: 'transactions already on the big account' },
  samples: { type: 'string', default: '150', quick: '30', help: 'payments timed per account (after 10 warm-up ones each)' },
  listener: { type: 'string', default: join(root, 'apps', 'accounting-command-listener', 'dist', 'main.js'), help: 'the accounting-command-listener build to measure' },
  label: { type: 'string', default: '', help: 'what this run measures, kept in the JSON (e.g. "before: main at <commit>")' },
  'restore-timeout-seconds': { type: 'string', default: '900', help: 'give up when the listener has not booked its first payment by then' },
  'results-dir': { type: 'string', default: join(benchDir, 'results'), help: 'where the JSON goes' },
  quick: { type: 'boolean', default: false, help: 'small sizes (a smoke run, not a figure to keep)' },
  help: { type: 'boolean', default: false, help: 'this text' },
};

/** Booking on the long-history account may take at most this many times as long as on a fresh one (issue 14). */
const MAX_RATIO = 1.2;
const BIG = 'ACC-HISTORY';
const FRESH = 'ACC-FRESH';
const WARM_UP = 10;

function usage() {
  const lines = Object.entries(OPTIONS).map(([name, o]) => `  --${name.padEnd(24)} ${o.help}${o.type !== 'boolean' && o.default !== '' ? ` [${o.default}${o.quick ? `; --quick ${o.quick}` : ''}]` : ''}`);
  return ['usage: node bench/account-history.mjs [options]   (npm run bench:account-history -- [options])', ...lines, ''].join('\n');
}

function readSettings(argv) {
  const { values } = parseArgs({ args: argv, options: Object.fromEntries(Object.entries(OPTIONS).map(([name, o]) => [name, { type: o.type }])), strict: true });
  const pick = (name) => values[name] ?? (values.quick && OPTIONS[name].quick !== undefined ? OPTIONS[name].quick : OPTIONS[name].default);
  const integer = (name) => {
    const n = Number(pick(name));
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${pick(name)}`);
    return n;
  };
  const listener = resolve(pick('listener'));
  if (!existsSync(listener)) throw new Error(`--listener ${listener} does not exist: run npm run build first`);
  return {
    history: integer('history'),
    samples: integer('samples'),
    listener,
    restoreTimeoutSeconds: integer('restore-timeout-seconds'),
    label: pick('label'),
    resultsDir: resolve(pick('results-dir')),
    quick: values.quick ?? false,
    help: values.help ?? false,
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function transactionRecorded(accountId, version, transactionId, kind, amountMinor) {
  return {
    eventId: `${transactionId}:0`,
    aggregateId: accountId,
    aggregateType: 'Account',
    version,
    traceId: `bench-${transactionId}`,
    causationId: `bench-cmd-${transactionId}`,
    initiatedBy: 'bench',
    timestamp: Date.now(),
    data: { transactionId, accountId, kind, amountMinor, currency: 'EUR', reason: null, shipmentId: kind === 'Charge' ? `S-${transactionId}` : null, sourceEventId: kind === 'Charge' ? `ev-${transactionId}` : null },
  };
}

function payment(accountId, transactionId) {
  return {
    commandId: randomUUID(),
    aggregateId: accountId,
    aggregateType: 'Account',
    expectedVersion: null,
    traceId: randomUUID(),
    causationId: null,
    initiatedBy: 'fay.finance',
    role: 'finance',
    timestamp: Date.now(),
    data: { transactionId, accountId, kind: 'Payment', amountMinor: -1, currency: 'EUR', reason: 'bench', shipmentId: null, sourceEventId: null },
  };
}

/** Writes the big account's history (one encoded record, reused: only offsets matter to a restore) and opens the fresh account. */
async function writeHistory({ producer, serde, topic, history, progress }) {
  const started = performance.now();
  const chunk = 5_000;
  for (let from = 1; from <= history; from += chunk) {
    const messages = [];
    for (let version = from; version < from + chunk && version <= history; version += 1) {
      const id = `hist-${version}`;
      messages.push({ key: BIG, value: await serde.encode('accounting.transactions', 'TransactionRecorded', transactionRecorded(BIG, version, id, version === 1 ? 'Charge' : 'Adjustment', 1)) });
    }
    await producer.send({ topic, acks: -1, messages });
    progress.update(`history: ${Math.min(from + chunk - 1, history)}/${history} transactions written`);
  }
  await producer.send({ topic, acks: -1, messages: [{ key: FRESH, value: await serde.encode('accounting.transactions', 'TransactionRecorded', transactionRecorded(FRESH, 1, 'fresh-open', 'Charge', 1)) }] });
  return round((performance.now() - started) / 1000, 1);
}

async function main() {
  const settings = readSettings(process.argv.slice(2));
  if (settings.help) return void process.stdout.write(usage());
  for (const lib of ['devstack', 'contracts', 'streams']) if (!existsSync(join(root, 'libs', lib, 'dist', 'index.js'))) throw new Error(`libs/${lib} is not built: run npm run build first`);
  const devstack = require(join(root, 'libs', 'devstack', 'dist', 'index.js'));
  const contracts = require('@waybill/contracts');
  const streams = require('@waybill/streams');
  const kafkajs = require('kafkajs');
  const progress = devstack.terminalProgress();
  const startedAt = new Date();
  const { workDir, teardown, tearDown } = benchWorkDir('waybill-bench-account-history-');

  let figures;
  try {
    const kafkaHandle = await devstack.startKafka({ dataDir: join(workDir, 'kafka'), brokerPort: await devstack.freePort(), controllerPort: await devstack.freePort(), heapMb: 1024 }, progress);
    teardown.push(() => kafkaHandle.stop());
    const brokers = kafkaHandle.brokers;
    const redisHandle = await devstack.startRedis({ dataDir: join(workDir, 'redis'), port: await devstack.freePort() }, progress);
    teardown.push(() => redisHandle.stop());
    const registry = await devstack.startSchemaRegistry({ port: await devstack.freePort(), brokers, logsDir: workDir }, progress);
    teardown.push(() => registry.stop());
    await devstack.ensureTopics(brokers, contracts.topicSpecs());
    const kafka = new kafkajs.Kafka({ brokers, clientId: 'bench', logLevel: kafkajs.logLevel.NOTHING });
    const serde = contracts.createSerde({ registry: contracts.kafkajsRegistryClient(registry.url) });
    await serde.registerAll();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    teardown.push(() => producer.disconnect());

    progress.step(`writing ${settings.history} transactions onto ${BIG}`);
    const historySeconds = await writeHistory({ producer, serde, topic: 'accounting.transactions', history: settings.history, progress });
    progress.done(`history: ${settings.history} transactions on ${BIG} in ${historySeconds} s`);

    const booked = new Map(); // commandId → ms it became visible
    const watcher = await watchCommitted(kafka, 'accounting.transactions', streams.committedMessages, async (message, _partition, at) => {
      const decoded = await serde.decode(message.value, 'accounting.transactions');
      if (decoded.value.causationId && !booked.has(decoded.value.causationId)) booked.set(decoded.value.causationId, at);
    });
    teardown.push(() => watcher.stop());

    const logFile = join(workDir, 'accounting-command-listener.log');
    const log = createWriteStream(logFile, { flags: 'a' });
    const listenerStarted = performance.now();
    const child = spawn(process.execPath, [settings.listener], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        KAFKA_BROKERS: brokers.join(','),
        REDIS_URL: redisHandle.url,
        SCHEMA_REGISTRY_URL: registry.url,
        PORT: String(await devstack.freePort()),
        API_KEYS: devstack.apiKeysSpec(),
      },
    });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    let died;
    child.once('exit', (code, signal) => (died = `accounting-command-listener exited (${code ?? signal}); see ${logFile}`));
    teardown.push(() => new Promise((r) => (child.exitCode !== null ? r() : (child.once('exit', r), child.kill('SIGTERM')))));

    let sequence = 0;
    const book = async (accountId, timeoutMs) => {
      const cmd = payment(accountId, `bench-pay-${accountId}-${(sequence += 1)}`);
      const value = await serde.encode('accounting.commands', 'AccountingCommand', cmd);
      const sent = performance.now();
      await producer.send({ topic: 'accounting.commands', acks: -1, messages: [{ key: accountId, value }] });
      const deadline = sent + timeoutMs;
      while (!booked.has(cmd.commandId)) {
        if (died) throw new Error(died);
        if (performance.now() > deadline) throw new Error(`no TransactionRecorded for a payment on ${accountId} within ${timeoutMs} ms`);
        await sleep(1);
      }
      return booked.get(cmd.commandId) - sent;
    };

    // The first booking on each account waits for the listener to start and restore both.
    progress.step(`starting the listener on ${settings.history + 1} changelog records`);
    await book(BIG, settings.restoreTimeoutSeconds * 1000);
    await book(FRESH, 60_000);
    const firstBookingSeconds = round((performance.now() - listenerStarted) / 1000, 1);
    progress.done(`listener restored and booked its first payments ${firstBookingSeconds} s after its start`);

    const latencies = { [BIG]: [], [FRESH]: [] };
    progress.step(`${settings.samples} payments per account, in turn`);
    for (let i = 0; i < WARM_UP + settings.samples; i += 1) {
      for (const accountId of i % 2 ? [BIG, FRESH] : [FRESH, BIG]) {
        const ms = await book(accountId, 60_000);
        if (i >= WARM_UP) latencies[accountId].push(ms);
      }
      progress.update(`${i + 1}/${WARM_UP + settings.samples}`);
    }
    const big = latencySummary(latencies[BIG]);
    const fresh = latencySummary(latencies[FRESH]);
    progress.done(`p50 ${big.p50Ms} ms on ${settings.history} transactions, ${fresh.p50Ms} ms fresh`);
    figures = {
      historyTransactions: settings.history,
      historyWriteSeconds: historySeconds,
      listenerStartToFirstBookingSeconds: firstBookingSeconds,
      longHistory: { accountId: BIG, ...big },
      fresh: { accountId: FRESH, ...fresh },
      p50Ratio: round(big.p50Ms / fresh.p50Ms, 3),
      p90Ratio: round(big.p90Ms / fresh.p90Ms, 3),
      measuredTo: 'produce of the payment → its TransactionRecorded visible to a committed-only reader',
    };
  } finally {
    progress.step('tearing down');
    await tearDown();
    progress.done('torn down');
  }

  const finishedAt = new Date();
  const result = {
    ...runTimes('account-history', startedAt, finishedAt),
    quick: settings.quick,
    machine: { ...machineInfo(root, devstack.kafkaVersion()), listener: relative(root, settings.listener) || settings.listener },
    settings: { ...settings, listener: relative(root, settings.listener) || settings.listener, resultsDir: relative(root, settings.resultsDir) || '.' },
    figures,
    targets: [
      {
        id: 'booking-p50-long-history-vs-fresh',
        description: `p50 booking time on an account with ${settings.history} transactions over a fresh account's, same run`,
        measured: figures.p50Ratio,
        threshold: MAX_RATIO,
        comparison: '<=',
        pass: figures.p50Ratio <= MAX_RATIO,
      },
    ],
  };
  const written = writeResult(settings.resultsDir, 'account-history', startedAt, result);
  process.stdout.write(
    `\n${table([
      ['account', 'transactions before', 'p50 ms', 'p90 ms', 'p99 ms'],
      [BIG, String(settings.history), String(figures.longHistory.p50Ms), String(figures.longHistory.p90Ms), String(figures.longHistory.p99Ms)],
      [FRESH, '1', String(figures.fresh.p50Ms), String(figures.fresh.p90Ms), String(figures.fresh.p99Ms)],
    ])}\n\np50 ratio ${figures.p50Ratio} (target ≤ ${MAX_RATIO}): ${result.targets[0].pass ? 'pass' : 'FAIL'}\nresults: ${written}\n`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
