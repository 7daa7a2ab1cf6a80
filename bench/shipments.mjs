#!/usr/bin/env node
// `npm run bench:shipments`: Waybill's shipment write path beside its two peers, in one run on
// one machine (docs/ARCHITECTURE.md §10). See bench/README.md for what each figure means.
//
//   node bench/shipments.mjs [--reducer apps/shipment-reducer/dist/main.js] [--quick] [--help]
//
// It starts its own Kafka, Redis, schema registry (libs/devstack) and PostgreSQL (Debian's
// binaries, a temp cluster), runs
//   1. raw kafkajs passthrough, plain and transactional (bench/lib/passthrough-worker.mjs),
//   2. Emmett on PostgreSQL (bench/peers/emmett/peer.mjs),
//   3. Waybill's reducer (measureWaybillReducer below: skipped until a reducer entry is given),
// writes bench/results/shipments-<time>.json and shipments-latest.json, prints a table, and
// tears everything down. Plain Node ESM, no compile step; the workspace libs are loaded from their
// built dist/ (npm run build).
import { benchWorkDir } from './lib/workdir.mjs';
import { commandOutput, cpuWindow, machineInfo, machineSpeed, versionOf } from './lib/machine.mjs';
import { readSettings as readBenchSettings, usage as benchUsage } from './lib/settings.mjs';
import { execFileSync, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { startPostgres } from './lib/postgres.mjs';
import { latencySummary, rates, round, table } from './lib/stats.mjs';
import { CHUNK_METRIC, CHUNK_PHASES, CHUNK_SIZE_METRIC, ordered, phaseDelta, scrapeHistograms } from './lib/phases.mjs';
import { waitFor, watchTopic } from './lib/watch.mjs';
import { COMMANDS_PER_SHIPMENT, shipmentCommand, shipmentFacts } from './lib/workload.mjs';
import { runTimes, writeResult } from './lib/results.mjs';
import { memoryByFamily, perUnit } from './lib/redis-memory.mjs';
import { spawnBenchApp } from './lib/apps.mjs';
import { dueAt, sendPaced } from './lib/pacing.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = dirname(benchDir);
const require = createRequire(import.meta.url);

// ---------------------------------------------------------------------------------------------
// Settings: every size and duration can be set by a flag or an environment variable.
// ---------------------------------------------------------------------------------------------
const SETTINGS = {
  reducer: { env: 'BENCH_REDUCER', type: 'string', default: '', help: 'reducer entry to spawn (e.g. apps/shipment-reducer/dist/main.js); empty: Waybill is skipped' },
  'passthrough-messages': { env: 'BENCH_PASSTHROUGH_MESSAGES', type: 'number', default: 60_000, quick: 12_000, help: 'messages pre-filled for each passthrough run' },
  'value-bytes': { env: 'BENCH_VALUE_BYTES', type: 'number', default: 300, help: 'passthrough message value size' },
  keys: { env: 'BENCH_KEYS', type: 'number', default: 10_000, help: 'distinct passthrough keys' },
  'batch-size': { env: 'BENCH_BATCH_SIZE', type: 'number', default: 500, help: 'records per produce / per transaction in the passthrough (the reducer\'s MAX_BATCH_SIZE default)' },
  'passthrough-modes': { env: 'BENCH_PASSTHROUGH_MODES', type: 'string', default: 'plain,transactional,transactionalFastRetry,reducerShaped', help: 'passthrough runs: plain, transactional (kafkajs default retry), transactionalFastRetry, reducerShaped (fast retry, two records out per record in, on two topics, as the reducer writes an event and an outcome)' },
  'fast-retry-ms': { env: 'BENCH_FAST_RETRY_MS', type: 'number', default: 10, help: 'kafkajs initialRetryTime of transactionalFastRetry (kafkajs default: 300)' },
  'partitions-concurrently': { env: 'BENCH_PARTITIONS_CONCURRENTLY', type: 'number', default: 12, help: 'partitions processed at once by the passthrough (the reducer\'s default)' },
  commands: { env: 'BENCH_COMMANDS', type: 'number', default: 60_000, quick: 12_000, help: 'commands pre-filled for the reducer throughput run (rounded to whole shipments of 6)' },
  'latency-seconds': { env: 'BENCH_LATENCY_SECONDS', type: 'number', default: 15, quick: 4, help: 'measured length of each paced latency point' },
  'latency-rate': { env: 'BENCH_LATENCY_RATE', type: 'number', default: 0, help: 'one latency point at this rate instead of --latency-rates; 0 = use --latency-rates' },
  'reducer-instances': { env: 'BENCH_REDUCER_INSTANCES', type: 'string', default: '1,2,3', quick: '1', help: 'throughput runs with this many reducer processes in the group, in turn (the first run also measures latency)' },
  'latency-rates': { env: 'BENCH_LATENCY_RATES', type: 'string', default: '116,1000,half', help: 'latency points: commands/s, "half" = half the measured sustained rate' },
  'latency-warmup-seconds': { env: 'BENCH_LATENCY_WARMUP_SECONDS', type: 'number', default: 5, quick: 2, help: 'each latency point first runs this long at its rate, samples dropped' },
  'emmett-shipments': { env: 'BENCH_EMMETT_SHIPMENTS', type: 'number', default: 1_500, quick: 300, help: 'shipments (x6 appends) per Emmett mode' },
  'emmett-concurrency': { env: 'BENCH_EMMETT_CONCURRENCY', type: 'number', default: 16, help: 'shipments in flight at once on Emmett' },
  'pg-synchronous-commit': { env: 'BENCH_PG_SYNCHRONOUS_COMMIT', type: 'string', default: 'on', help: 'PostgreSQL synchronous_commit (on = its default)' },
  'phase-timeout-seconds': { env: 'BENCH_PHASE_TIMEOUT_SECONDS', type: 'number', default: 120, help: 'give up on a measurement after this long' },
  'kafka-heap-mb': { env: 'BENCH_KAFKA_HEAP_MB', type: 'number', default: 1024, help: 'broker JVM heap' },
  skip: { env: 'BENCH_SKIP', type: 'string', default: '', help: 'comma list of passthrough,emmett,waybill to leave out' },
  'results-dir': { env: 'BENCH_RESULTS_DIR', type: 'string', default: join(benchDir, 'results'), help: 'where the JSON goes' },
  quick: { env: 'BENCH_QUICK', type: 'boolean', default: false, help: 'small sizes (a smoke run, not a figure to keep)' },
  quiet: { env: 'BENCH_QUIET', type: 'boolean', default: false, help: 'no progress lines' },
  help: { type: 'boolean', default: false, help: 'this text' },
};

const readSettings = (argv) => readBenchSettings(SETTINGS, argv);

function usage() {
  return benchUsage('bench/shipments.mjs', SETTINGS);
}

// ---------------------------------------------------------------------------------------------
// Targets of the issue: what the run passes or fails.
// ---------------------------------------------------------------------------------------------
const TARGETS = {
  sustainedCommandsPerSecond: 5_000,
  fractionOfPassthrough: 0.5,
  // issue 17 ("Fast at the door")
  sustainedCommandsPerSecondIssue17: 12_000,
  fractionOfReducerShapedPassthrough: 0.8,
  p99MsAt116: 25,
  p99MsAt1000: 50,
  p99MsAtHalf: 200,
  // issue 18: more reducers on one machine cost at most this fraction of one's throughput
  scaleOutOnOneMachine: 0.9,
};

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------
function loadWorkspace() {
  const devstackDist = join(root, 'libs', 'devstack', 'dist', 'index.js');
  const missing = ['devstack', 'contracts', 'shipment-messages', 'shipment-domain', 'registry'].filter(
    (lib) => !existsSync(join(root, 'libs', lib, 'dist', 'index.js')),
  );
  if (missing.length) {
    throw new Error(`libs not built (${missing.join(', ')} have no dist/): run npm run build first`);
  }
  return {
    devstack: require(devstackDist),
    contracts: require('@waybill/contracts'),
    messages: require('@waybill/shipment-messages'),
    domain: require('@waybill/shipment-domain'),
    kafkajs: require('kafkajs'),
    Redis: require('ioredis'),
  };
}

/** The Emmett peer's own npm packages (not a workspace member): `npm ci --prefix` when missing. */
function ensureEmmettPeer(progress) {
  const peerDir = join(benchDir, 'peers', 'emmett');
  if (existsSync(join(peerDir, 'node_modules', '@event-driven-io', 'emmett-postgresql', 'package.json'))) return peerDir;
  progress.step('installing the Emmett peer\'s packages (npm ci --prefix bench/peers/emmett)');
  execFileSync('npm', ['ci', '--prefix', peerDir, '--no-audit', '--no-fund'], { stdio: ['ignore', 'ignore', 'inherit'] });
  progress.done('Emmett peer packages installed');
  return peerDir;
}

/** Runs a child Node script with IPC; resolves with its first message (or rejects when it dies first). */
function forkChild(script, args, { logFile, cwd } = {}) {
  const log = logFile ? createWriteStream(logFile, { flags: 'a' }) : undefined;
  const child = fork(script, args, { cwd: cwd ?? root, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  child.stdout.pipe(log ?? process.stderr, { end: false });
  child.stderr.pipe(log ?? process.stderr, { end: false });
  const firstMessage = new Promise((resolveMessage, reject) => {
    child.once('message', resolveMessage);
    child.once('exit', (code, signal) => reject(new Error(`${relative(root, script)} exited (${code ?? signal}) before reporting${logFile ? `; see ${logFile}` : ''}`)));
  });
  firstMessage.catch(() => undefined);
  return { child, firstMessage };
}

/** Stops a child we started: SIGTERM, then SIGKILL after `graceMs`. */
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

async function createBenchTopics(brokers, topics) {
  // A client of its own that logs nothing: the metadata polls below expect errors for a moment.
  const { Kafka, logLevel } = require('kafkajs');
  const admin = new Kafka({ brokers, clientId: 'bench-admin', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: false, topics: topics.map(({ topic, partitions }) => ({ topic, numPartitions: partitions, replicationFactor: 1 })) });
    // NOTE: a just-created topic can still answer "does not host this topic-partition" for a
    // moment after CreateTopics returns; wait until its metadata shows a leader everywhere.
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

/** Produces `messages` in sends of `chunk`, a few in flight; returns the seconds it took. */
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

/** A passthrough record's key: `--keys` distinct shipment-like ids, in turn. */
const passthroughKey = (i, settings) => `SHP-${String(i % settings.keys).padStart(7, '0')}`;

/** `fields` as JSON with a `pad` field that brings the value to about `bytes` bytes. */
function paddedJson(fields, bytes) {
  const head = JSON.stringify({ ...fields, pad: '' });
  return Buffer.from(head.slice(0, -2) + 'x'.repeat(Math.max(0, bytes - head.length)) + '"}');
}

/**
 * Forks bench/lib/passthrough-worker.mjs with the reducer's chunk size and concurrency (and
 * `--fast-retry-ms` when `fastRetry`); `died()` gives the reason once it exited.
 */
function startPassthroughWorker({ brokers, settings, logFile, fastRetry, ...worker }) {
  const { child, firstMessage } = forkChild(
    join(benchDir, 'lib', 'passthrough-worker.mjs'),
    [
      JSON.stringify({
        brokers,
        ...worker,
        batchSize: settings.batchSize,
        partitionsConcurrently: settings.partitionsConcurrently,
        retryInitialMs: fastRetry ? settings.fastRetryMs : undefined,
      }),
    ],
    { logFile },
  );
  let reason;
  child.once('exit', (code, signal) => (reason = `worker exited (${code ?? signal}); see ${logFile}`));
  return { child, firstMessage, died: () => reason };
}

// ---------------------------------------------------------------------------------------------
// 1. Raw kafkajs passthrough, plain and transactional
// ---------------------------------------------------------------------------------------------
async function measurePassthrough({ kafka, brokers, settings, progress, workDir }) {
  const N = settings.passthroughMessages;
  const inputTopic = 'bench.passthrough.in';
  const modes = settings.passthroughModes.split(',').map((m) => m.trim()).filter(Boolean);
  for (const m of modes) if (!['plain', 'transactional', 'transactionalFastRetry', 'reducerShaped'].includes(m)) throw new Error(`unknown passthrough mode ${m}`);
  const outputTopics = modes.flatMap((m) => (m === 'reducerShaped' ? [`bench.passthrough.out.${m}`, `bench.passthrough.out.${m}.second`] : [`bench.passthrough.out.${m}`]));
  await createBenchTopics(brokers, [inputTopic, ...outputTopics].map((topic) => ({ topic, partitions: 12 })));

  progress.step(`pre-filling ${inputTopic} with ${N} messages of ${settings.valueBytes} bytes`);
  const messages = Array.from({ length: N }, (_, i) => {
    const key = passthroughKey(i, settings);
    return { key, value: paddedJson({ i, key, type: 'PickItem', at: Date.now() }, settings.valueBytes) };
  });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const prefillSeconds = await produceAll(producer, inputTopic, messages);
  await producer.disconnect();
  progress.done(`${inputTopic}: ${N} messages in ${prefillSeconds.toFixed(1)} s`);

  const out = {
    messages: N,
    valueBytes: messages[0].value.length,
    partitions: 12,
    distinctKeys: Math.min(N, settings.keys),
    batchSize: settings.batchSize,
    partitionsConcurrently: settings.partitionsConcurrently,
  };
  for (const mode of modes) {
    const outputTopic = `bench.passthrough.out.${mode}`;
    const fastRetry = mode === 'transactionalFastRetry' || mode === 'reducerShaped';
    progress.step(`passthrough (${mode}): ${N} messages ${inputTopic} → ${outputTopic}`);
    // What the machine can do just before this run (bench/README.md: its speed moves under us).
    const speed = machineSpeed();
    const arrivals = [];
    const watcher = await watchTopic(kafka, outputTopic, (_m, _p, at) => void arrivals.push(at));
    const started = performance.now();
    const worker = startPassthroughWorker({
      brokers,
      settings,
      logFile: join(workDir, `passthrough-${mode}.log`),
      inputTopic,
      outputTopic,
      ...(mode === 'reducerShaped' ? { secondOutputTopic: `${outputTopic}.second` } : {}),
      groupId: `bench-passthrough-${mode}`,
      mode: mode === 'plain' ? 'plain' : 'transactional',
      fastRetry,
    });
    try {
      await worker.firstMessage;
      const ticker = setInterval(() => progress.update(`${arrivals.length}/${N} on ${outputTopic}`), 500);
      try {
        await waitFor(() => arrivals.length >= N, { timeoutMs: settings.phaseTimeoutSeconds * 1000, what: `passthrough ${mode}`, failed: worker.died });
      } finally {
        clearInterval(ticker);
      }
    } finally {
      await stopChild(worker.child);
      await watcher.stop();
    }
    const r = rates(arrivals.slice(0, N), started);
    out[mode] = { ...r, kafkajsInitialRetryMs: fastRetry ? settings.fastRetryMs : 300, machineSpeed: speed };
    progress.done(`passthrough (${mode}): ${r.sustainedPerSecond} msg/s sustained, ${r.overallPerSecond} msg/s over ${r.wallSeconds} s from process start`);
  }
  return out;
}

/**
 * The latency floor beside the reducer's points: the reducerShaped passthrough (one transaction
 * per chunk holding two records out per record in and the consumed offsets, fast retry, the
 * reducer's concurrency and chunk size; nothing decoded, decided or stored) fed at the same
 * paced rates, each record from its scheduled send time to its second output being visible to a
 * read_committed watcher: what any kafkajs consume → transaction → produce app pays on this
 * broker and these cores before it does any work of its own.
 */
async function measurePassthroughLatency({ kafka, brokers, settings, progress, workDir, points }) {
  const inputTopic = 'bench.passthrough.paced.in';
  const outputTopic = 'bench.passthrough.paced.out';
  const secondOutputTopic = `${outputTopic}.second`;
  await createBenchTopics(brokers, [inputTopic, outputTopic, secondOutputTopic].map((topic) => ({ topic, partitions: 12 })));
  const expected = new Map();
  const watcher = await watchTopic(kafka, secondOutputTopic, (message, _p, at) => {
    const id = JSON.parse(message.value.toString()).id;
    const mine = expected.get(id);
    if (!mine) return;
    expected.delete(id);
    mine.samples.push(at - mine.scheduledAt);
  });
  const worker = startPassthroughWorker({
    brokers,
    settings,
    logFile: join(workDir, 'passthrough-paced.log'),
    inputTopic,
    outputTopic,
    secondOutputTopic,
    groupId: 'bench-passthrough-paced',
    mode: 'transactional',
    fastRetry: true,
  });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  const paced = async ({ rate, seconds, tag }) => {
    const total = Math.max(1, Math.round(rate * seconds));
    const messages = Array.from({ length: total }, (_, i) => ({ key: passthroughKey(i, settings), value: paddedJson({ id: `${tag}-${i}` }, settings.valueBytes) }));
    const t0 = performance.now() + 200;
    const samples = [];
    messages.forEach((_m, i) => expected.set(`${tag}-${i}`, { samples, scheduledAt: dueAt(t0, rate, i) }));
    progress.step(`passthrough latency (${tag}): ${total} records at ${rate}/s`);
    await sendPaced({ producer, topic: inputTopic, messages, rate, t0, onIssued: (n) => progress.update(`${n} sent, ${samples.length} visible`) });
    await waitFor(() => samples.length >= total, { timeoutMs: settings.phaseTimeoutSeconds * 1000, what: `passthrough latency at ${rate}/s`, failed: worker.died });
    return samples;
  };
  try {
    await worker.firstMessage;
    await producer.connect();
    const out = [];
    for (const [seq, { label, rate }] of points.entries()) {
      await paced({ rate, seconds: settings.latencyWarmupSeconds, tag: `w${seq}` });
      const samples = await paced({ rate, seconds: settings.latencySeconds, tag: `l${seq}` });
      const entry = { label, targetRatePerSecond: rate, ...latencySummary(samples), measuredFrom: 'scheduled send time', measuredTo: 'second output visible to a read_committed consumer' };
      out.push(entry);
      progress.done(`passthrough (reducerShaped) latency at ${rate}/s: p50 ${entry.p50Ms} ms, p99 ${entry.p99Ms} ms`);
    }
    return out;
  } finally {
    await producer.disconnect().catch(() => undefined);
    await stopChild(worker.child);
    await watcher.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// 2. Emmett on PostgreSQL
// ---------------------------------------------------------------------------------------------
async function measureEmmett({ postgres, settings, progress, workDir }) {
  const peerDir = ensureEmmettPeer(progress);
  progress.step(`Emmett on PostgreSQL: ${settings.emmettShipments} shipments x ${COMMANDS_PER_SHIPMENT} appends per mode, ${settings.emmettConcurrency} in flight`);
  const { child, firstMessage } = forkChild(
    join(peerDir, 'peer.mjs'),
    [JSON.stringify({ connectionString: postgres.connectionString, shipments: settings.emmettShipments, concurrency: settings.emmettConcurrency, maxSeconds: settings.phaseTimeoutSeconds })],
    { logFile: join(workDir, 'emmett.log'), cwd: peerDir },
  );
  let reply;
  try {
    reply = await firstMessage;
  } finally {
    await stopChild(child);
  }
  if (!reply.ok) throw new Error(`Emmett peer failed: ${reply.error}`);
  const out = {
    package: `@event-driven-io/emmett-postgresql@${versionOf(join(peerDir, 'node_modules', '@event-driven-io', 'emmett-postgresql', 'package.json'))}`,
    postgres: postgres.version,
    synchronousCommit: settings.pgSynchronousCommit,
    shipments: settings.emmettShipments,
    appendsPerShipment: COMMANDS_PER_SHIPMENT,
    concurrency: settings.emmettConcurrency,
  };
  for (const [mode, run] of Object.entries(reply.results)) {
    out[mode] = { ...rates(run.completions, run.started), latency: latencySummary(run.latencies), conflicts: run.conflicts, stoppedEarly: run.stoppedEarly };
  }
  progress.done(
    `Emmett: append ${out.append?.sustainedPerSecond} appends/s (p50 ${out.append?.latency.p50Ms} ms, p99 ${out.append?.latency.p99Ms} ms); ` +
      `read-then-append ${out.readThenAppend?.sustainedPerSecond} appends/s`,
  );
  return out;
}

// ---------------------------------------------------------------------------------------------
// 3. Waybill's reducer
// ---------------------------------------------------------------------------------------------

/** The workload's commands, checked against the domain's own decider: every one must be accepted. */
function checkWorkloadWithDecider(domain) {
  const facts = shipmentFacts('check', 1);
  let state = domain.shipmentDecider.initialState;
  state = typeof state === 'function' ? state() : state;
  for (let step = 0; step < COMMANDS_PER_SHIPMENT; step++) {
    const command = shipmentCommand(facts, step);
    const result = domain.decide(command, state);
    if (!Array.isArray(result)) throw new Error(`workload bug: the decider rejects ${command.type}: ${JSON.stringify(result)}`);
    for (const event of result) state = domain.evolve(state, event);
  }
  return state.status;
}

/** Encodes a block of shipments' commands, step by step across the block (per-key order kept). */
async function encodeCommands({ serde, messages: mapping, runTag, firstShipment, shipments, topic, now }) {
  const out = [];
  for (let step = 0; step < COMMANDS_PER_SHIPMENT; step++) {
    for (let s = firstShipment; s < firstShipment + shipments; s++) {
      const facts = shipmentFacts(runTag, s);
      const command = shipmentCommand(facts, step, now(out.length));
      const record = mapping.commandToRecord(command);
      out.push({
        commandId: command.metadata.commandId,
        message: {
          key: command.metadata.shipmentId,
          value: await serde.encode(topic, record.type, record.value),
          headers: { 'x-trace-id': command.metadata.traceId, 'x-command-type': command.type },
        },
      });
    }
  }
  return out;
}

/**
 * ============================================================================================
 * THE WAYBILL MEASUREMENT HOOK
 * ============================================================================================
 * Produces the "create then five transitions" workload as Avro commands (Confluent wire format,
 * @waybill/contracts serde, @waybill/shipment-messages commandToRecord) onto `shipment.commands`.
 * Then, when `reducer` names an entry script (flag --reducer / env BENCH_REDUCER, e.g.
 * apps/shipment-reducer/dist/main.js), it spawns it as a child process with KAFKA_BROKERS,
 * REDIS_URL, SCHEMA_REGISTRY_URL, PORT and API_KEYS, and measures
 *   (a) throughput: K commands pre-filled before the reducer starts; the time until all K
 *       outcomes are visible on `shipment.outcomes` (read_committed), matched by commandId;
 *   (b) latency: new shipments' commands produced at a paced rate (half of (a) unless
 *       --latency-rate), each from its scheduled send time to its outcome becoming visible.
 * Without a reducer it records { skipped: 'no reducer' } after producing the commands.
 * The harness has already created shipment.commands/.events/.outcomes (12 partitions) and
 * shipment.commands.dlq (topicSpecs() of @waybill/contracts).
 * ============================================================================================
 */
export async function measureWaybillReducer({ brokers, redisUrl, registryUrl, reducer, settings, progress, workDir, ws, instances = 1, cpuOf = {}, measureMemory = false }) {
  const { contracts, messages: mapping, domain, devstack, kafkajs } = ws;
  const { TOPICS } = contracts;
  const finalStatus = checkWorkloadWithDecider(domain);
  const kafka = new kafkajs.Kafka({ brokers, clientId: 'bench-waybill', logLevel: kafkajs.logLevel.ERROR });
  const serde = contracts.createSerde({ registry: contracts.kafkajsRegistryClient(registryUrl) });
  await serde.registerAll();

  const shipments = Math.max(1, Math.round(settings.commands / COMMANDS_PER_SHIPMENT));
  const K = shipments * COMMANDS_PER_SHIPMENT;
  const runTag = randomUUID().slice(0, 8);
  progress.step(`encoding ${K} commands (${shipments} shipments) and pre-filling ${TOPICS.shipmentCommands}`);
  const prefill = [];
  const block = 1_000;
  for (let first = 0; first < shipments; first += block) {
    prefill.push(...(await encodeCommands({ serde, messages: mapping, runTag, firstShipment: first, shipments: Math.min(block, shipments - first), topic: TOPICS.shipmentCommands, now: () => Date.now() })));
  }
  // One idempotent producer, one send at a time: each shipment's commands keep their order.
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  const prefillSeconds = await produceAll(producer, TOPICS.shipmentCommands, prefill.map((p) => p.message), { chunk: 2_000, inFlight: 1 });
  progress.done(`${TOPICS.shipmentCommands}: ${K} commands (${shipments} shipments x ${COMMANDS_PER_SHIPMENT}) in ${prefillSeconds.toFixed(1)} s`);
  const base = { workload: 'create then five transitions', finalStatus, commands: K, shipments, commandValueBytesMean: round(prefill.reduce((a, p) => a + p.message.value.length, 0) / K, 0) };

  if (!reducer) {
    await producer.disconnect();
    return { skipped: 'no reducer', ...base };
  }
  const entry = resolve(root, reducer);
  if (!existsSync(entry)) {
    await producer.disconnect();
    throw new Error(`--reducer ${reducer}: ${entry} does not exist (build it first)`);
  }

  // Outcomes, matched by commandId; the watcher runs through both phases.
  const expected = new Map(); // commandId → { phase, scheduledAt }
  for (const p of prefill) expected.set(p.commandId, { phase: 'throughput' });
  const seen = { throughput: [], accepted: 0, rejected: 0, unknown: 0, firstRejection: null, undecodable: 0 };
  const watcher = await watchTopic(kafka, TOPICS.shipmentOutcomes, async (message, _p, at) => {
    let outcome;
    try {
      const decoded = await serde.decode(message.value, TOPICS.shipmentOutcomes);
      if (decoded.recordName !== 'CommandOutcome') return;
      outcome = decoded.value;
    } catch {
      seen.undecodable++;
      return;
    }
    const mine = expected.get(outcome.commandId);
    if (!mine) {
      seen.unknown++;
      return;
    }
    expected.delete(outcome.commandId); // a redelivered outcome counts once
    if (outcome.status === 'Accepted') seen.accepted++;
    else {
      seen.rejected++;
      seen.firstRejection ??= { commandType: outcome.commandType, rejection: outcome.rejection };
    }
    if (mine.phase === 'throughput') seen.throughput.push(at);
    else {
      mine.samples.arrived++;
      mine.samples.latencyMs.push(at - mine.scheduledAt);
      mine.samples.visibleAfterDecideMs.push(Math.max(0, Date.now() - Number(message.timestamp)));
    }
  });

  progress.step(`starting ${instances === 1 ? 'the reducer' : `${instances} reducers`} (${relative(root, entry)}) on ${K} waiting commands`);
  const started = performance.now();
  // BENCH_REDUCER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the reducer.
  const nodeArgs = (process.env.BENCH_REDUCER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  let died;
  const children = [];
  for (let i = 1; i <= instances; i += 1) {
    const childPort = await devstack.freePort();
    const logFile = join(workDir, instances === 1 ? 'reducer.log' : `reducer-${instances}x-${i}.log`);
    const child = spawnBenchApp(entry, {
      root,
      devstack,
      brokers,
      redisUrl,
      registryUrl,
      port: childPort,
      logFile,
      logLevel: process.env.BENCH_REDUCER_LOG_LEVEL ?? 'warn',
      env: { KAFKA_CLIENT_ID: `shipment-reducer-${i}` },
      nodeArgs,
    });
    child.once('exit', (code, signal) => (died ??= `reducer ${i} of ${instances} exited (${code ?? signal}):\n${tail(logFile)}`));
    children.push({ child, port: childPort });
  }
  // The phase histograms are the first instance's (with more, it decides only its share).
  const port = children[0].port;
  const settled = watchGroupSettled(kafka, 'shipment-reducer', instances);
  const speed = machineSpeed();
  const cpu = cpuWindow({ ...cpuOf, ...Object.fromEntries(children.map(({ child }, i) => [`reducer-${i + 1}`, child.pid])) });
  const timeoutMs = settings.phaseTimeoutSeconds * 1000;
  /** Produces new shipments' commands at `rate`/s for `seconds`; resolves when every outcome is visible. */
  const paced = async ({ rate, seconds, phase, tag }) => {
    const total = Math.max(COMMANDS_PER_SHIPMENT, Math.round((rate * seconds) / COMMANDS_PER_SHIPMENT) * COMMANDS_PER_SHIPMENT);
    if (seconds <= 0) return null;
    const latShipments = total / COMMANDS_PER_SHIPMENT;
    progress.step(`${phase}: ${total} commands at ${rate}/s (${seconds} s)`);
    // Shipments interleave in blocks of ~0.1 s of commands; a shipment's commands stay in order.
    const blockShipments = Math.max(1, Math.ceil(rate / 10 / COMMANDS_PER_SHIPMENT));
    const schedule = [];
    const t0Wall = Date.now() + 500;
    for (let first = 0; first < latShipments; first += blockShipments) {
      schedule.push(
        ...(await encodeCommands({
          serde,
          messages: mapping,
          runTag: tag,
          firstShipment: first,
          shipments: Math.min(blockShipments, latShipments - first),
          topic: TOPICS.shipmentCommands,
          now: (i) => t0Wall + Math.round(((schedule.length + i) * 1000) / rate),
        })),
      );
    }
    const t0 = performance.now() + Math.max(0, t0Wall - Date.now());
    const samples = { latencyMs: [], visibleAfterDecideMs: [], arrived: 0 };
    schedule.forEach((s, i) => expected.set(s.commandId, { phase, samples, scheduledAt: dueAt(t0, rate, i) }));
    let issued = 0;
    let sendError;
    const sending = sendPaced({ producer, topic: TOPICS.shipmentCommands, messages: schedule.map((s) => s.message), rate, t0, onIssued: (n) => (issued = n) }).catch(
      (err) => (sendError = err),
    );
    const ticker = setInterval(() => progress.update(`${issued} sent, ${samples.arrived} outcomes`), 500);
    try {
      await waitFor(() => samples.arrived >= total || sendError !== undefined, { timeoutMs: seconds * 1000 + timeoutMs, what: `reducer ${phase} at ${rate}/s`, failed: () => died });
    } finally {
      clearInterval(ticker);
    }
    await sending;
    if (sendError) throw sendError;
    const lastScheduled = dueAt(t0, rate, total - 1);
    return {
      targetRatePerSecond: rate,
      achievedRatePerSecond: round(total / ((lastScheduled - t0) / 1000 || 1), 0),
      commands: total,
      seconds,
      ...latencySummary(samples.latencyMs),
      measuredFrom: 'scheduled send time',
      measuredTo: 'outcome visible to a read_committed consumer',
      // The outcome record's timestamp (set by the reducer when it decided) → visible to the watcher:
      // the reducer's transaction after deciding, the commit markers, and the watcher's fetch.
      decidedToVisible: latencySummary(samples.visibleAfterDecideMs),
    };
  };
  try {
    // (a) throughput
    const ticker = setInterval(() => progress.update(`${seen.throughput.length}/${K} outcomes`), 500);
    try {
      await waitFor(() => seen.throughput.length >= K, { timeoutMs, what: 'reducer throughput', failed: () => died });
    } finally {
      clearInterval(ticker);
    }
    const settledAt = await settled.stop();
    // After the last rebalance of the start (every instance holding partitions): the steady rate.
    const steady = settledAt === null ? null : rates(seen.throughput.filter((t) => t >= settledAt), settledAt);
    const throughput = {
      ...rates(seen.throughput, started),
      commands: K,
      instances,
      groupSettledAfterSeconds: settledAt === null ? null : round((settledAt - started) / 1000, 2),
      steadyPerSecond: steady?.sustainedPerSecond ?? null,
      steadyCommands: steady?.count ?? 0,
      cpu: cpu(),
      machineSpeed: speed,
    };
    {
      // The reducer's phases over the whole throughput run (its histograms start empty with it).
      const snapshot = await scrapeHistograms(`http://127.0.0.1:${port}`, { 'x-api-key': devstack.DEMO_KEYS[0].key }, [CHUNK_METRIC, CHUNK_SIZE_METRIC]);
      throughput.reducerPhases = ordered(phaseDelta(new Map(), snapshot, CHUNK_METRIC, { where: { topic: TOPICS.shipmentCommands } }), CHUNK_PHASES);
      const chunks = phaseDelta(new Map(), snapshot, CHUNK_SIZE_METRIC, { by: 'topic' })?.[TOPICS.shipmentCommands];
      throughput.reducerChunks = chunks ? { chunks: chunks.count, meanChunkMs: chunks.meanMs, commandsPerChunk: round(K / chunks.count, 2) } : null;
    }
    if (measureMemory) {
      // The reducer's state store after K commands on a Redis nothing else writes to: one snapshot per shipment and its offsets.
      const redis = new ws.Redis(redisUrl);
      try {
        throughput.storeMemory = { ...perUnit(await memoryByFamily(redis, '*'), K, 'Event'), shipments, measuredBy: 'MEMORY USAGE … SAMPLES 0 of every key, by family (bench/lib/redis-memory.mjs); one event per accepted command' };
      } finally {
        await redis.quit();
      }
    }
    progress.done(`reducer: ${throughput.sustainedPerSecond} commands/s sustained, ${throughput.overallPerSecond}/s over ${throughput.wallSeconds} s from process start`);

    // (b) latency at fixed rates, paced from scheduled send times (no coordinated omission); each
    // point first runs --latency-warmup-seconds at its rate (samples dropped), and the reducer's
    // own phase histograms are read before and after the measured window.
    const metricsUrl = `http://127.0.0.1:${port}`;
    const metricsHeaders = { 'x-api-key': devstack.DEMO_KEYS[0].key };
    const half = Math.max(1, Math.floor(throughput.sustainedPerSecond / 2));
    const rateList = settings.latencyRate > 0 ? [settings.latencyRate] : settings.latencyRates.split(',').map((r) => r.trim()).filter(Boolean);
    const latency = [];
    let seq = 0;
    for (const r of rateList) {
      const rate = r === 'half' ? half : Number(r);
      if (!(rate > 0)) throw new Error(`--latency-rates: ${r} is not a rate`);
      const label = r === 'half' ? 'half' : String(rate);
      const warm = await paced({ rate, seconds: settings.latencyWarmupSeconds, phase: 'warmup', tag: `${runTag}-w${seq}` });
      void warm;
      const before = await scrapeHistograms(metricsUrl, metricsHeaders, [CHUNK_METRIC, CHUNK_SIZE_METRIC]);
      const point = await paced({ rate, seconds: settings.latencySeconds, phase: 'latency', tag: `${runTag}-l${seq}` });
      const after = await scrapeHistograms(metricsUrl, metricsHeaders, [CHUNK_METRIC, CHUNK_SIZE_METRIC]);
      seq++;
      const chunks = phaseDelta(before, after, CHUNK_SIZE_METRIC, { by: 'topic' })?.[TOPICS.shipmentCommands];
      const entry = {
        label,
        ...point,
        reducerPhases: ordered(phaseDelta(before, after, CHUNK_METRIC, { where: { topic: TOPICS.shipmentCommands } }), CHUNK_PHASES),
        reducerChunks: chunks ? { chunks: chunks.count, meanChunkMs: chunks.meanMs, commandsPerChunk: round(point.commands / chunks.count, 2) } : null,
      };
      latency.push(entry);
      progress.done(`reducer latency at ${rate}/s: p50 ${entry.p50Ms} ms, p99 ${entry.p99Ms} ms (${entry.reducerChunks?.commandsPerChunk ?? '?'} commands per chunk)`);
    }
    return {
      ...base,
      reducer: relative(root, entry),
      // bench/lib/stand-in-reducer.mjs tests this hook; its figures are not Waybill's.
      ...(entry === join(benchDir, 'lib', 'stand-in-reducer.mjs') ? { standIn: true } : {}),
      throughput,
      latency,
      outcomes: { accepted: seen.accepted, rejected: seen.rejected, firstRejection: seen.firstRejection, unknown: seen.unknown, undecodable: seen.undecodable },
    };
  } finally {
    await Promise.all(children.map(({ child }) => stopChild(child, 15_000)));
    await watcher.stop();
    await producer.disconnect().catch(() => undefined);
  }
}

/**
 * The rates of the passthrough's latency points: the reducer's own points when it ran (same
 * labels, same rates), else --latency-rates with "half" = half the reducerShaped passthrough.
 */
function peerLatencyPoints(settings, figures) {
  const measured = figures.waybill?.latency ?? [];
  if (measured.length) return measured.map((p) => ({ label: p.label, rate: p.targetRatePerSecond }));
  const half = Math.max(1, Math.floor((figures.passthrough?.reducerShaped?.sustainedPerSecond ?? 0) / 2));
  const list = settings.latencyRate > 0 ? [String(settings.latencyRate)] : settings.latencyRates.split(',').map((r) => r.trim()).filter(Boolean);
  return list.map((r) => (r === 'half' ? { label: 'half', rate: half } : { label: r, rate: Number(r) })).filter((p) => p.rate > 0);
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------
/**
 * Watches a consumer group until it is Stable with `members` members that each hold partitions:
 * `stop()` gives that moment (performance.now()), or null if it never came.
 */
function watchGroupSettled(kafka, groupId, members) {
  const admin = kafka.admin();
  let settledAt = null;
  let stopped = false;
  const loop = (async () => {
    await admin.connect();
    while (!stopped && settledAt === null) {
      try {
        const { groups } = await admin.describeGroups([groupId]);
        const group = groups[0];
        if (group?.state === 'Stable' && group.members.length === members && group.members.every((m) => m.memberAssignment?.length > 0)) settledAt = performance.now();
      } catch {
        // the coordinator may be moving: ask again
      }
      if (settledAt === null) await sleep(100);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop.catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
      return settledAt;
    },
  };
}

/** `1,2,3` → [1, 2, 3]: reducer processes per throughput run. */
function instanceCounts(list) {
  const counts = String(list).split(',').map((c) => c.trim()).filter(Boolean).map(Number);
  if (!counts.length || counts.some((n) => !Number.isInteger(n) || n < 1 || n > 12)) throw new Error(`--reducer-instances ${list}: expected a comma list of counts from 1 to 12, e.g. 1,2,3`);
  return counts;
}

function evaluateTargets(figures) {
  // A stand-in reducer's figures are reported but judge nothing.
  const waybill = figures.waybill?.standIn ? null : (figures.waybill?.throughput?.sustainedPerSecond ?? null);
  const plain = figures.passthrough?.plain?.sustainedPerSecond ?? null;
  const transactional = figures.passthrough?.transactional?.sustainedPerSecond ?? null;
  const reducerShaped = figures.passthrough?.reducerShaped?.sustainedPerSecond ?? null;
  const emmett = figures.emmett?.append?.sustainedPerSecond ?? null;
  const verdict = (measured, threshold, strict = false) => (measured === null || threshold === null ? null : strict ? measured > threshold : measured >= threshold);
  const points = figures.waybill?.standIn ? [] : (figures.waybill?.latency ?? []);
  const peers = figures.passthroughLatency ?? [];
  const latencyTarget = (label, threshold, what) => {
    const p = Array.isArray(points) ? points.find((x) => x.label === label) : undefined;
    const measured = p?.p99Ms ?? null;
    return {
      id: `reducer-p99-at-${label}`,
      description: `Waybill reducer p99 (ms, scheduled send → outcome visible) at ${what}`,
      measured,
      threshold,
      ratePerSecond: p?.targetRatePerSecond ?? null,
      achievedPerSecond: p?.achievedRatePerSecond ?? null,
      p50Ms: p?.p50Ms ?? null,
      // The floor beside it: the reducerShaped passthrough at the same rate in the same run.
      passthroughPeerP99Ms: peers.find((x) => x.label === label)?.p99Ms ?? null,
      passthroughPeerP50Ms: peers.find((x) => x.label === label)?.p50Ms ?? null,
      pass: measured === null ? null : measured <= threshold,
    };
  };
  return [
    {
      id: 'sustained-12000',
      description: 'issue 17: Waybill sustains at least 12,000 commands/s through the reducer',
      measured: waybill,
      threshold: TARGETS.sustainedCommandsPerSecondIssue17,
      pass: verdict(waybill, TARGETS.sustainedCommandsPerSecondIssue17),
    },
    {
      id: 'reducer-shaped-0.8',
      description: 'issue 17: Waybill sustains at least 0.8x the kafkajs reducer-shaped passthrough of the same run',
      measured: waybill !== null && reducerShaped ? round(waybill / reducerShaped, 3) : null,
      threshold: TARGETS.fractionOfReducerShapedPassthrough,
      waybillPerSecond: waybill,
      reducerShapedPerSecond: reducerShaped,
      pass: waybill === null || !reducerShaped ? null : waybill / reducerShaped >= TARGETS.fractionOfReducerShapedPassthrough,
    },
    latencyTarget('116', TARGETS.p99MsAt116, '116 commands/s'),
    latencyTarget('1000', TARGETS.p99MsAt1000, '1,000 commands/s'),
    latencyTarget('half', TARGETS.p99MsAtHalf, 'half the sustained rate'),
    ...scalingTargets(figures),
    {
      id: 'sustained-5000',
      description: 'Waybill sustains at least 5,000 commands/s with transactions on',
      measured: waybill,
      threshold: TARGETS.sustainedCommandsPerSecond,
      pass: verdict(waybill, TARGETS.sustainedCommandsPerSecond),
    },
    {
      id: 'half-of-passthrough',
      description: 'Waybill sustains at least half the raw kafkajs passthrough (plain) on the same broker',
      measured: waybill,
      threshold: plain === null ? null : Math.round(plain * TARGETS.fractionOfPassthrough),
      ratio: waybill !== null && plain ? round(waybill / plain, 3) : null,
      ratioToTransactionalPassthrough: waybill !== null && transactional ? round(waybill / transactional, 3) : null,
      // The reducer's Kafka work alone (transactions, two records out per command), nothing decided:
      // how much of the gap is the target's definition rather than the reducer.
      ratioToReducerShapedPassthrough: waybill !== null && reducerShaped ? round(waybill / reducerShaped, 3) : null,
      reducerShapedPassthroughReachesThreshold: reducerShaped === null || plain === null ? null : reducerShaped >= plain * TARGETS.fractionOfPassthrough,
      pass: verdict(waybill, plain === null ? null : plain * TARGETS.fractionOfPassthrough),
    },
    {
      id: 'ahead-of-emmett',
      description: 'Waybill is ahead of Emmett on PostgreSQL (appends with expected version)',
      measured: waybill,
      threshold: emmett,
      ratio: waybill !== null && emmett ? round(waybill / emmett, 3) : null,
      pass: verdict(waybill, emmett, true),
    },
  ];
}

/**
 * Issue 18: more reducers in the group on this machine must not cost throughput (at most 10 % less
 * than one); they cannot add any while one reducer, the broker and Redis already keep both cores
 * busy (cpu.machineCoresBusy). The figure that scales is partitions per instance on more machines.
 */
function scalingTargets(figures) {
  const runs = figures.waybill?.standIn ? [] : (figures.waybillScaling ?? []);
  const one = runs.find((r) => r.instances === 1)?.steadyPerSecond;
  return runs
    .filter((r) => r.instances > 1)
    .map((r) => ({
      id: `reducer-${r.instances}-instances-vs-1`,
      description: `issue 18: ${r.instances} reducer processes in the group sustain at least ${TARGETS.scaleOutOnOneMachine}x what one does on this machine, once the group has settled`,
      measured: one && r.steadyPerSecond ? round(r.steadyPerSecond / one, 3) : null,
      threshold: TARGETS.scaleOutOnOneMachine,
      steadyPerSecond: r.steadyPerSecond,
      oneInstanceSteadyPerSecond: one ?? null,
      groupSettledAfterSeconds: r.groupSettledAfterSeconds,
      machineCoresBusy: r.cpu?.machineCoresBusy ?? null,
      pass: one && r.steadyPerSecond ? r.steadyPerSecond / one >= TARGETS.scaleOutOnOneMachine : null,
    }));
}

function printTable(result) {
  const f = result.figures;
  const fmt = (x, unit = '') => (x === null || x === undefined ? '—' : `${Number(x).toLocaleString('en-US')}${unit}`);
  const rows = [['measurement', 'sustained /s', 'overall /s', 'p50 ms', 'p99 ms', 'note']];
  if (f.waybill) {
    if (f.waybill.skipped) rows.push(['waybill reducer', '—', '—', '—', '—', `skipped: ${f.waybill.skipped}`]);
    else {
      if (f.waybill.standIn) rows.push(['(stand-in reducer: tests the hook, NOT Waybill)', '', '', '', '', '']);
      rows.push(['waybill reducer (commands)', fmt(f.waybill.throughput.sustainedPerSecond), fmt(f.waybill.throughput.overallPerSecond), '', '', `${f.waybill.commands} commands, transactions on`]);
      for (const r of f.waybillScaling ?? []) rows.push([`  ${r.instances} reducer${r.instances === 1 ? '' : 's'} in the group`, fmt(r.sustainedPerSecond), fmt(r.overallPerSecond), '', '', `steady ${fmt(r.steadyPerSecond)}/s after ${r.groupSettledAfterSeconds ?? '?'} s; ${r.cpu?.machineCoresBusy ?? '?'} of ${r.cpu?.cores ?? '?'} cores busy`]);
      for (const p of f.waybill.latency) rows.push([`  latency @ ${p.targetRatePerSecond}/s`, '', '', fmt(p.p50Ms), fmt(p.p99Ms), `command → outcome; ${p.reducerChunks?.commandsPerChunk ?? '?'} per chunk`]);
    }
  }
  if (f.passthrough) {
    for (const mode of ['plain', 'transactional', 'transactionalFastRetry', 'reducerShaped']) {
      const r = f.passthrough[mode];
      if (r) rows.push([`kafkajs passthrough ${mode}`, fmt(r.sustainedPerSecond), fmt(r.overallPerSecond), '', '', `${f.passthrough.messages} msgs x ${f.passthrough.valueBytes} B`]);
    }
  }
  for (const p of f.passthroughLatency ?? []) rows.push([`  reducerShaped latency @ ${p.targetRatePerSecond}/s`, '', '', fmt(p.p50Ms), fmt(p.p99Ms), 'record → second output visible']);
  if (f.emmett) {
    for (const mode of ['append', 'readThenAppend']) {
      const r = f.emmett[mode];
      if (r) rows.push([`emmett-postgresql ${mode}`, fmt(r.sustainedPerSecond), fmt(r.overallPerSecond), fmt(r.latency.p50Ms), fmt(r.latency.p99Ms), `${f.emmett.concurrency} in flight`]);
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
  const { workDir, teardown, tearDown } = benchWorkDir('waybill-bench-');

  const figures = {};
  const errors = {};
  const machine = {
    ...machineInfo(root, devstack.kafkaVersion(), {
      postgres: null,
    }),
  };
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
    // Retriable broker answers right after topic creation (NOT_LEADER…) would only be noise: failures surface as errors.
    const kafka = new kafkajs.Kafka({ brokers, clientId: 'bench', logLevel: kafkajs.logLevel.NOTHING });

    if (!settings.skip.has('passthrough')) {
      try {
        figures.passthrough = await measurePassthrough({ kafka, brokers, settings, progress, workDir });
      } catch (err) {
        errors.passthrough = String(err?.stack ?? err);
        progress.done(`passthrough failed: ${err.message}`);
      }
    }
    if (!settings.skip.has('emmett')) {
      try {
        const postgres = await startPostgres({ port: await devstack.freePort(), settings: { synchronous_commit: settings.pgSynchronousCommit } }, progress);
        teardown.push(() => postgres.stop());
        machine.postgres = postgres.version;
        figures.emmett = await measureEmmett({ postgres, settings, progress, workDir });
        await postgres.stop(); // frees its cores for the Waybill run
      } catch (err) {
        errors.emmett = String(err?.stack ?? err);
        progress.done(`Emmett failed: ${err.message}`);
      }
    }
    if (!settings.skip.has('waybill')) {
      try {
        const counts = instanceCounts(settings.reducerInstances);
        const cpuOf = { kafka: kafkaHandle.service.pid, redis: redisHandle.service?.pid };
        const common = { brokers, redisUrl: redisHandle.url, registryUrl: registry.url, reducer: settings.reducer, progress, workDir, ws, cpuOf };
        figures.waybill = await measureWaybillReducer({ ...common, settings, instances: counts[0], measureMemory: true });
        // More reducer processes in the group on the same machine: throughput only (latency was the first run's).
        const runs = [figures.waybill.throughput];
        for (const instances of figures.waybill.throughput ? counts.slice(1) : []) {
          const more = await measureWaybillReducer({ ...common, settings: { ...settings, latencyRate: 0, latencyRates: '' }, instances });
          runs.push(more.throughput);
        }
        if (figures.waybill.throughput) {
          figures.waybillScaling = runs.map((r) => ({
            instances: r.instances,
            sustainedPerSecond: r.sustainedPerSecond,
            steadyPerSecond: r.steadyPerSecond,
            groupSettledAfterSeconds: r.groupSettledAfterSeconds,
            overallPerSecond: r.overallPerSecond,
            wallSeconds: r.wallSeconds,
            cpu: r.cpu,
          }));
        }
      } catch (err) {
        errors.waybill = String(err?.stack ?? err);
        progress.done(`Waybill failed: ${err.message}`);
      }
    }
    if (!settings.skip.has('passthrough')) {
      // After the reducer, so that its points' rates ("half" is half the reducer's sustained rate) are known.
      try {
        const points = peerLatencyPoints(settings, figures);
        if (points.length) figures.passthroughLatency = await measurePassthroughLatency({ kafka, brokers, settings, progress, workDir, points });
      } catch (err) {
        errors.passthroughLatency = String(err?.stack ?? err);
        progress.done(`passthrough latency failed: ${err.message}`);
      }
    }
  } finally {
    progress.step('tearing down');
    await tearDown();
    progress.done('torn down');
  }

  const finishedAt = new Date();
  const result = {
    ...runTimes('shipments', startedAt, finishedAt),
    quick: settings.quick,
    machine,
    settings: { ...settings, skip: [...settings.skip], resultsDir: relative(root, settings.resultsDir) || '.' },
    figures,
    targets: evaluateTargets(figures),
    ...(Object.keys(errors).length ? { errors } : {}),
  };
  const written = writeResult(settings.resultsDir, 'shipments', startedAt, result);
  process.stdout.write(`\n${printTable(result)}\n\nresults: ${written} (and shipments-latest.json)\n`);
  // A failed measurement is an error; a missed target is a result (exit 0), read from the JSON.
  return Object.keys(errors).length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`bench:shipments failed: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
