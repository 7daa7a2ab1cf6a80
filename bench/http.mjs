#!/usr/bin/env node
// npm run bench:http: the shipment write path over HTTP, Waybill beside Emmett, in one run.
//
// Keep-alive HTTP clients (undici Pools, the harness's own loops) send "create then five
// transitions" sessions (POST /shipments, then ReleaseForPicking, PickItem, CompletePicking, Pack,
// MarkReadyForShipping on POST /shipments/:id/commands, each after the previous one's answer) to:
// - waybill-http: shipment-handler on the whole local stack (libs/devstack startStack: Kafka,
//   Redis, the schema registry and every app, as npm start), answering when the reducer's outcome
//   arrives;
// - emmett-express: bench/peers/emmett/http-server.mjs, express → Emmett's CommandHandler →
//   PostgreSQL, with the same decide/evolve.
// Points: closed loops of 1, 16 and 64 clients; open loops at 116/s, 1,000/s and half the
// system's own maximum (the best closed-loop throughput), latency from each command's scheduled
// send time. bench/README.md "HTTP" says how to read the JSON.
import { benchWorkDir } from './lib/workdir.mjs';
import { commandOutput, cpuBetween, machineInfo, machineSpeed, versionOf } from './lib/machine.mjs';
import { readSettings as readBenchSettings, usage as benchUsage } from './lib/settings.mjs';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { startPostgres } from './lib/postgres.mjs';
import { runTimes, writeResult } from './lib/results.mjs';
import { latencySummary, round, table } from './lib/stats.mjs';
import { CHUNK_METRIC, CHUNK_PHASES, REQUEST_METRIC, REQUEST_PHASES, ordered, phaseDelta, scrapeHistograms } from './lib/phases.mjs';
import { COMMANDS_PER_SHIPMENT, STEPS, shipmentCommand, shipmentFacts } from './lib/workload.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = dirname(benchDir);
const require = createRequire(import.meta.url);

// ---------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------
const SETTINGS = {
  seconds: { env: 'BENCH_HTTP_SECONDS', type: 'number', default: 20, quick: 4, help: 'measured seconds per point' },
  'warmup-seconds': { env: 'BENCH_HTTP_WARMUP_SECONDS', type: 'number', default: 5, quick: 2, help: 'seconds per point before measuring (same load, samples dropped)' },
  'stable-window-seconds': { env: 'BENCH_HTTP_STABLE_WINDOW_SECONDS', type: 'number', default: 5, quick: 2, help: 'before the first point, each system runs 16 clients in windows of this long until warm (see --stable-*)' },
  'stable-min-seconds': { env: 'BENCH_HTTP_STABLE_MIN_SECONDS', type: 'number', default: 30, quick: 4, help: 'warm-up lasts at least this long' },
  'stable-max-seconds': { env: 'BENCH_HTTP_STABLE_MAX_SECONDS', type: 'number', default: 120, quick: 8, help: 'warm-up lasts at most this long (the JSON says whether it settled)' },
  'stable-tolerance': { env: 'BENCH_HTTP_STABLE_TOLERANCE', type: 'number', default: 0.1, help: 'warm when three consecutive windows\' throughputs are within this fraction of their mean' },
  clients: { env: 'BENCH_HTTP_CLIENTS', type: 'string', default: '1,16,64', help: 'closed-loop points: concurrent clients (one keep-alive connection each)' },
  rates: { env: 'BENCH_HTTP_RATES', type: 'string', default: '116,1000,half', help: 'open-loop points: commands/s; "half" = half the best closed-loop throughput of that system' },
  'open-connections': { env: 'BENCH_HTTP_OPEN_CONNECTIONS', type: 'number', default: 256, help: 'keep-alive connections the open-loop pool may open' },
  'max-in-flight': { env: 'BENCH_HTTP_MAX_IN_FLIGHT', type: 'number', default: 1024, help: 'open loop: sessions in flight at most; later ones wait (their latency still counts from their schedule)' },
  'drain-seconds': { env: 'BENCH_HTTP_DRAIN_SECONDS', type: 'number', default: 15, help: 'after a point, wait at most this long for sessions in flight' },
  'rate-limit-per-minute': { env: 'BENCH_HTTP_RATE_LIMIT_PER_MINUTE', type: 'number', default: 6_000_000, help: 'RATE_LIMIT_PER_MINUTE of the stack (per principal per app instance; the default 6,000 is 100 commands/s)' },
  'log-level': { env: 'BENCH_HTTP_LOG_LEVEL', type: 'string', default: 'warn', help: 'LOG_LEVEL of every app and the peer' },
  'emmett-pool': { env: 'BENCH_HTTP_EMMETT_POOL', type: 'number', default: 32, help: 'PostgreSQL connections of the Emmett peer' },
  'pg-synchronous-commit': { env: 'BENCH_PG_SYNCHRONOUS_COMMIT', type: 'string', default: 'on', help: 'PostgreSQL synchronous_commit (on = its default)' },
  'kafka-heap-mb': { env: 'BENCH_KAFKA_HEAP_MB', type: 'number', default: 1024, help: 'broker JVM heap' },
  skip: { env: 'BENCH_SKIP', type: 'string', default: '', help: 'comma list of waybill,emmett to leave out' },
  'results-dir': { env: 'BENCH_RESULTS_DIR', type: 'string', default: join(benchDir, 'results'), help: 'where the JSON goes' },
  quick: { env: 'BENCH_QUICK', type: 'boolean', default: false, help: 'short points (a smoke run, not a figure to keep)' },
  quiet: { env: 'BENCH_QUIET', type: 'boolean', default: false, help: 'no progress lines' },
  help: { type: 'boolean', default: false, help: 'this text' },
};

function readSettings(argv) {
  const out = readBenchSettings(SETTINGS, argv);
  out.clients = String(out.clients).split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  out.rates = String(out.rates).split(',').map((s) => s.trim()).filter(Boolean).map((r) => (r === 'half' ? 'half' : Number(r)));
  if (out.clients.some((c) => !Number.isInteger(c) || c < 1)) throw new Error('--clients must be positive integers');
  if (out.rates.some((r) => r !== 'half' && !(r > 0))) throw new Error('--rates must be positive numbers or "half"');
  return out;
}

function usage() {
  return benchUsage('bench/http.mjs', SETTINGS);
}

// The HTTP targets.
const TARGETS = { p99MsAt1000PerSecond: 80, throughput64ClientsVsEmmett: 1.0 };

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function tail(file, lines = 25) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

function loadWorkspace() {
  const missing = ['devstack', 'contracts', 'shipment-domain', 'platform'].filter((lib) => !existsSync(join(root, 'libs', lib, 'dist', 'index.js')));
  const apps = ['shipment-handler', 'shipment-reducer'].filter((app) => !existsSync(join(root, 'apps', app, 'dist', 'main.js')));
  if (missing.length || apps.length) throw new Error(`not built (${[...missing, ...apps].join(', ')}): run npm run build first`);
  return { devstack: require(join(root, 'libs', 'devstack', 'dist', 'index.js')), domain: require('@waybill/shipment-domain') };
}

function ensureEmmettPeer(progress) {
  const peerDir = join(benchDir, 'peers', 'emmett');
  if (existsSync(join(peerDir, 'node_modules', '@event-driven-io', 'emmett-postgresql', 'package.json'))) return peerDir;
  progress.step("installing the Emmett peer's packages (npm ci --prefix bench/peers/emmett)");
  execFileSync('npm', ['ci', '--prefix', peerDir, '--no-audit', '--no-fund'], { stdio: ['ignore', 'ignore', 'inherit'] });
  progress.done('Emmett peer packages installed');
  return peerDir;
}

async function waitHttp(url, { timeoutMs = 60_000, failed = () => undefined, what }) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const why = failed();
    if (why) throw new Error(why);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${what} not ready at ${url} within ${timeoutMs / 1000} s`);
    await sleep(200);
  }
}

// ---------------------------------------------------------------------------------------------
// The load generator: sessions of create then five transitions over keep-alive undici Pools
// ---------------------------------------------------------------------------------------------

/** The request body of `step` of a session, shaped like the routes expect. */
function requestOf(facts, step) {
  const command = shipmentCommand(facts, step);
  if (step === 0) return { path: '/shipments', body: JSON.stringify({ shipmentId: facts.shipmentId, ...command.data }) };
  return { path: `/shipments/${facts.shipmentId}/commands`, body: JSON.stringify({ type: command.type, data: command.data }) };
}

/**
 * One point's samples. A command counts when its answer arrives in the measured window
 * [from, to] (closed loop) or when it was scheduled in it (open loop).
 */
function newSamples() {
  return { latencies: [], completions: 0, statuses: {}, nonOk: 0, networkErrors: 0, pendingPolled: 0, sessionsAborted: 0, firstError: null };
}

/**
 * Sends one command and waits for its answer. A 202 (shipment-handler: no outcome within
 * OUTCOME_WAIT_MS) is polled on GET /commands/:id until answered: the latency runs to the answer.
 */
async function sendCommand(target, pool, req) {
  const res = await pool.request({ method: 'POST', path: req.path, headers: target.headers, body: req.body });
  const text = await res.body.text();
  if (res.statusCode !== 202) return { status: res.statusCode, text, polled: false };
  const { commandId } = JSON.parse(text);
  const deadline = performance.now() + 30_000;
  for (;;) {
    await sleep(20);
    const poll = await pool.request({ method: 'GET', path: `/commands/${commandId}`, headers: target.headers });
    const polledText = await poll.body.text();
    if (poll.statusCode !== 202 || performance.now() > deadline) return { status: poll.statusCode, text: polledText, polled: true };
  }
}

/**
 * Runs one session: the six commands in order, each sent when the previous one is answered.
 * `firstDueAt` is when the create was due (open loop: its scheduled time; closed loop: now);
 * `counts(dueAt, answeredAt)` says whether a sample belongs to the measured window.
 */
async function runSession(target, pool, facts, firstDueAt, samples, counts) {
  let dueAt = firstDueAt;
  for (let step = 0; step < COMMANDS_PER_SHIPMENT; step++) {
    let answer;
    try {
      answer = await sendCommand(target, pool, requestOf(facts, step));
    } catch (err) {
      const at = performance.now();
      if (counts(dueAt, at)) {
        samples.networkErrors++;
        samples.sessionsAborted++;
        samples.firstError ??= `${STEPS[step].command}: ${err.code ?? ''} ${err.message}`;
      }
      return;
    }
    const at = performance.now();
    const ok = answer.status >= 200 && answer.status < 300;
    if (counts(dueAt, at)) {
      samples.statuses[answer.status] = (samples.statuses[answer.status] ?? 0) + 1;
      if (answer.polled) samples.pendingPolled++;
      if (ok) {
        samples.latencies.push(at - dueAt);
        samples.completions++;
      } else {
        samples.nonOk++;
        samples.sessionsAborted++;
        samples.firstError ??= `${STEPS[step].command} → ${answer.status} ${answer.text.slice(0, 300)}`;
      }
    }
    if (!ok) return;
    dueAt = at;
  }
}

function summarize(point, samples, measuredSeconds) {
  const { latencies, ...rest } = samples;
  return {
    ...point,
    measuredSeconds: round(measuredSeconds, 3),
    throughputPerSecond: round(samples.completions / measuredSeconds, 1),
    ...latencySummary(latencies),
    ...rest,
    statuses: { ...samples.statuses },
    errors: samples.nonOk + samples.networkErrors,
  };
}

/**
 * Adds where the cores went in the measured window: cores busy per process, and CPU milliseconds
 * per answered command (a process's cores busy ÷ the point's throughput), so that a system's cost
 * per command reads beside its latency.
 */
function withCpu(point, cpu) {
  if (!cpu) return point;
  const perCommand = (cores) => (cores === null || !(point.throughputPerSecond > 0) ? null : round((cores * 1000) / point.throughputPerSecond, 3));
  return {
    ...point,
    cpu: {
      machineCoresBusy: cpu.machineCoresBusy,
      machineCoresStolen: cpu.machineCoresStolen,
      coresBusyByProcess: cpu.coresBusyByProcess,
      cpuMsPerCommand: Object.fromEntries([['machine', perCommand(cpu.machineCoresBusy)], ...Object.entries(cpu.coresBusyByProcess).map(([name, cores]) => [name, perCommand(cores)])]),
    },
  };
}

/** Closed loop: `clients` clients, each on its own keep-alive connection, one session after another. */
async function closedLoop(target, { clients, settings, runTag }) {
  const pool = new Pool(target.url, { connections: clients, pipelining: 1 });
  const samples = newSamples();
  const start = performance.now();
  const from = start + settings.warmupSeconds * 1000;
  const to = from + settings.seconds * 1000;
  const counts = (_dueAt, at) => at >= from && at <= to;
  const cpu = target.cpuOf ? cpuBetween(target.cpuOf, from, to) : null;
  let seq = 0;
  const client = async () => {
    while (performance.now() < to) await runSession(target, pool, shipmentFacts(runTag, seq++), performance.now(), samples, counts);
  };
  await Promise.all(Array.from({ length: clients }, client));
  await pool.close();
  return withCpu(summarize({ kind: 'closed', clients }, samples, settings.seconds), await cpu);
}

/**
 * Open loop at `rate` commands/s: a session (six commands) starts every 6/rate s on schedule,
 * whether or not earlier ones are answered; latency runs from the scheduled time (the create) or
 * from the previous command's answer (the transitions), so a slow answer cannot hide the queue it
 * causes (no coordinated omission).
 */
async function openLoop(target, { rate, label, settings, runTag }) {
  const pool = new Pool(target.url, { connections: settings.openConnections, pipelining: 1 });
  const samples = newSamples();
  const sessionIntervalMs = (1000 * COMMANDS_PER_SHIPMENT) / rate;
  const start = performance.now() + 50;
  const from = start + settings.warmupSeconds * 1000;
  const to = from + settings.seconds * 1000;
  const counts = (dueAt) => dueAt >= from && dueAt <= to;
  const cpu = target.cpuOf ? cpuBetween(target.cpuOf, from, to) : null;
  const totalSessions = Math.floor((to - start) / sessionIntervalMs) + 1;
  let started = 0;
  let inFlight = 0;
  let lateStarts = 0;
  const running = new Set();
  while (started < totalSessions) {
    const now = performance.now();
    // Sessions still waiting for a slot when the window closes are not sent: counted below.
    if (now > to) break;
    const due = Math.min(totalSessions, Math.floor((now - start) / sessionIntervalMs) + 1);
    while (started < due && inFlight < settings.maxInFlight) {
      const dueAt = start + started * sessionIntervalMs;
      if (now - dueAt > 50) lateStarts++;
      inFlight++;
      const p = runSession(target, pool, shipmentFacts(runTag, started), dueAt, samples, counts).finally(() => {
        inFlight--;
        running.delete(p);
      });
      running.add(p);
      started++;
    }
    await sleep(started < due ? 1 : Math.max(1, Math.min(10, start + started * sessionIntervalMs - performance.now())));
  }
  let notStarted = 0;
  for (let i = started; i < totalSessions; i++) if (start + i * sessionIntervalMs >= from) notStarted++;
  const drainDeadline = performance.now() + settings.drainSeconds * 1000;
  while (running.size && performance.now() < drainDeadline) await sleep(50);
  const unfinished = running.size;
  // Summed before the pool is destroyed: the sessions it cuts off are counted once, as unfinished.
  const point = { kind: 'open', label, targetPerSecond: round(rate, 1) };
  const summary = summarize(point, samples, settings.seconds);
  await pool.destroy();
  // A session still unanswered after the drain is a timeout: counted with the errors.
  // So is a session due in the window that never got a slot (the system fell that far behind).
  return withCpu({ ...summary, lateStarts, sessionsNotStarted: notStarted, sessionsUnfinishedAtDrain: unfinished, errors: summary.errors + unfinished + notStarted }, await cpu);
}

/**
 * The reducer's own figures (its /metrics): chunks decided on shipment.commands and their time,
 * decide + Redis + the Kafka transaction included (waybill_batch_duration_seconds).
 */
async function reducerSnapshot(url, headers) {
  try {
    const res = await fetch(`${url}/metrics`, { headers, signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    const value = (name, label = '') => {
      const line = text.split('\n').find((l) => l.startsWith(name) && l.includes('topic="shipment.commands"') && l.includes(label));
      // A labelled series appears with its first sample: none yet is 0.
      return line ? Number(line.trim().split(/\s+/).pop()) : 0;
    };
    if (!res.ok) return null;
    return { chunks: value('waybill_batch_duration_seconds_count'), seconds: value('waybill_batch_duration_seconds_sum'), processed: value('waybill_messages_processed_total', 'outcome="processed"') };
  } catch {
    return null;
  }
}

function reducerDelta(before, after) {
  if (!before || !after || after.chunks === null || before.chunks === null) return null;
  const chunks = after.chunks - before.chunks;
  const processed = after.processed !== null && before.processed !== null ? after.processed - before.processed : null;
  return {
    chunks,
    meanChunkMs: chunks > 0 ? round(((after.seconds - before.seconds) * 1000) / chunks, 2) : null,
    commandsPerChunk: chunks > 0 && processed !== null ? round(processed / chunks, 2) : null,
  };
}

/** Every point against one system, closed loops first (they give the maximum "half" refers to). */
async function measureSystem(target, settings, progress) {
  const points = [];
  const withReducer = async (run) => {
    const before = target.reducer ? await reducerSnapshot(target.reducer, target.headers) : null;
    const phasesBefore = target.reducer ? await scrapeHistograms(target.reducer, target.headers, [CHUNK_METRIC]) : null;
    const requestBefore = target.reducer ? await scrapeHistograms(target.url, target.headers, [REQUEST_METRIC]) : null;
    // Between points the system is idle: what the machine itself can do now, to compare runs by.
    const speed = machineSpeed();
    const p = await run();
    p.machineSpeed = speed;
    if (target.reducer) {
      p.reducer = reducerDelta(before, await reducerSnapshot(target.reducer, target.headers));
      // Where the time went, hop by hop (bench/README.md "Where the time goes").
      p.reducerPhases = ordered(phaseDelta(phasesBefore, await scrapeHistograms(target.reducer, target.headers, [CHUNK_METRIC]), CHUNK_METRIC, { where: { topic: 'shipment.commands' } }), CHUNK_PHASES);
      p.handlerPhases = ordered(phaseDelta(requestBefore, await scrapeHistograms(target.url, target.headers, [REQUEST_METRIC]), REQUEST_METRIC), REQUEST_PHASES);
    }
    return p;
  };
  progress.step(`${target.name}: warming up (16 clients, ${settings.stableWindowSeconds} s windows, until stable or ${settings.stableMaxSeconds} s)`);
  const warmup = await warmUntilStable(target, settings, progress);
  progress.done(`${target.name}: warm after ${warmup.seconds} s (${warmup.settled ? 'settled' : 'not settled'}; windows ${warmup.windows.join(', ')} commands/s)`);
  for (const clients of settings.clients) {
    progress.step(`${target.name}: ${clients} client(s), closed loop, ${settings.warmupSeconds}+${settings.seconds} s`);
    const p = await withReducer(() => closedLoop(target, { clients, settings, runTag: `${target.tag}-c${clients}` }));
    points.push(p);
    progress.done(`${target.name}: ${clients} client(s): ${p.throughputPerSecond}/s, p50 ${p.p50Ms} p99 ${p.p99Ms} ms, errors ${p.errors}`);
  }
  const maxPerSecond = Math.max(0, ...points.map((p) => p.throughputPerSecond ?? 0));
  for (const r of settings.rates) {
    const rate = r === 'half' ? Math.max(1, Math.round(maxPerSecond / 2)) : r;
    const label = r === 'half' ? `half-max (${rate}/s)` : `${rate}/s`;
    progress.step(`${target.name}: open loop at ${rate} commands/s, ${settings.warmupSeconds}+${settings.seconds} s`);
    const p = await withReducer(() => openLoop(target, { rate, label, settings, runTag: `${target.tag}-r${rate}` }));
    if (r === 'half') p.half = true;
    points.push(p);
    progress.done(`${target.name}: ${label}: ${p.throughputPerSecond}/s, p50 ${p.p50Ms} p99 ${p.p99Ms} ms, errors ${p.errors}`);
  }
  return { url: target.url, warmup, maxPerSecond, points };
}

/**
 * Cold start costs both systems (JIT, connection pools, Kafka's and PostgreSQL's caches): both
 * were ~2x slower for their first 20-40 s. Before any point, run 16 closed-loop clients in windows
 * until three consecutive windows agree within the tolerance (and at least the minimum time).
 */
async function warmUntilStable(target, settings, progress) {
  const windows = [];
  const started = performance.now();
  let settled = false;
  for (let n = 0; ; n++) {
    const p = await closedLoop(target, { clients: 16, settings: { ...settings, warmupSeconds: 0, seconds: settings.stableWindowSeconds }, runTag: `${target.tag}-warm${n}` });
    windows.push(p.throughputPerSecond);
    progress.update(`${target.name} warm-up: ${windows.join(', ')} commands/s`);
    const elapsed = (performance.now() - started) / 1000;
    const last = windows.slice(-3);
    const mean = last.reduce((a, b) => a + b, 0) / last.length;
    settled = last.length === 3 && mean > 0 && last.every((x) => Math.abs(x - mean) <= settings.stableTolerance * mean);
    if ((settled && elapsed >= settings.stableMinSeconds) || elapsed >= settings.stableMaxSeconds) return { seconds: round(elapsed, 1), settled, windows };
  }
}

// ---------------------------------------------------------------------------------------------
// The two systems
// ---------------------------------------------------------------------------------------------

async function measureWaybill({ ws, settings, progress, workDir, teardown, benchKey }) {
  const { devstack } = ws;
  const stack = await devstack.startStack({
    dataDir: join(workDir, 'stack'),
    freePorts: true,
    kafkaHeapMb: settings.kafkaHeapMb,
    apiKeys: [...devstack.DEMO_KEYS, benchKey],
    // OUTCOME_WAIT_MS is left at its default (2,000 ms).
    env: { RATE_LIMIT_PER_MINUTE: String(settings.rateLimitPerMinute), LOG_LEVEL: settings.logLevel },
    progress,
  });
  let stopped = false;
  const stopStack = async () => {
    if (stopped) return;
    stopped = true;
    await stack.stop();
  };
  teardown.push(stopStack);
  const urlOf = (name) => stack.apps.find((a) => a.name === name)?.url;
  for (const name of ['shipment-reducer', 'shipment-handler']) {
    if (!urlOf(name)) throw new Error(`${name} did not start`);
    await waitHttp(`${urlOf(name)}/readyz`, { what: name });
  }
  progress.done(`stack ready: ${stack.apps.map((a) => a.name).join(', ')}`);
  const cpuOf = {
    kafka: stack.kafka.service.pid,
    redis: stack.redis.service?.pid,
    'schema-registry': stack.registry.service.pid,
    ...Object.fromEntries(stack.apps.map((a) => [devstack.instanceName(a), a.service.pid])),
    'bench-clients': process.pid,
  };
  const target = { name: 'waybill-http', tag: `w${process.pid}`, url: urlOf('shipment-handler'), reducer: urlOf('shipment-reducer'), headers: { 'content-type': 'application/json', 'x-api-key': benchKey.key }, cpuOf };
  try {
    return { apps: stack.apps.map((a) => a.name), logsDir: join(workDir, 'stack', 'logs'), ...(await measureSystem(target, settings, progress)) };
  } finally {
    progress.step('stopping the Waybill stack');
    await stopStack();
    progress.done('Waybill stack stopped (its cores are free for the peer)');
  }
}

async function measureEmmett({ ws, settings, progress, workDir, teardown, benchKey, machine }) {
  const peerDir = ensureEmmettPeer(progress);
  const postgres = await startPostgres({ port: await ws.devstack.freePort(), settings: { synchronous_commit: settings.pgSynchronousCommit } }, progress);
  teardown.push(() => postgres.stop());
  machine.postgres = postgres.version;
  const port = await ws.devstack.freePort();
  const logFile = join(workDir, 'emmett-http.log');
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, [join(peerDir, 'http-server.mjs')], {
    cwd: peerDir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      PORT: String(port),
      EMMETT_PG_URL: postgres.connectionString,
      API_KEY_SHA256: ws.platformHash(benchKey.key),
      PRINCIPAL: benchKey.principal,
      ROLE: benchKey.role,
      PG_POOL_MAX: String(settings.emmettPool),
    },
  });
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  let died;
  child.once('exit', (code, signal) => (died = `emmett-express exited (${code ?? signal}):\n${tail(logFile)}`));
  const stopChild = async () => {
    if (died) return;
    child.kill('SIGTERM');
    for (let i = 0; i < 50 && !died; i++) await sleep(100);
    if (!died) child.kill('SIGKILL');
  };
  teardown.push(stopChild);
  const url = `http://127.0.0.1:${port}`;
  progress.step(`starting emmett-express on ${url}`);
  await waitHttp(`${url}/healthz`, { what: 'emmett-express', failed: () => died });
  progress.done(`emmett-express up at ${url} (PostgreSQL ${postgres.version}, pool ${settings.emmettPool})`);
  // PostgreSQL's backends are separate processes: they show in machineCoresBusy only.
  const cpuOf = { 'emmett-express': child.pid, 'bench-clients': process.pid };
  const target = { name: 'emmett-express', tag: `e${process.pid}`, url, headers: { 'content-type': 'application/json', 'x-api-key': benchKey.key }, cpuOf };
  try {
    const figures = await measureSystem(target, settings, progress);
    if (died) throw new Error(died);
    return { postgres: postgres.version, pgPoolMax: settings.emmettPool, synchronousCommit: settings.pgSynchronousCommit, ...figures };
  } finally {
    await stopChild();
    await postgres.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Targets and the table
// ---------------------------------------------------------------------------------------------
function evaluateTargets(figures) {
  const w = figures['waybill-http'];
  const e = figures['emmett-express'];
  const at1000 = w?.points.find((p) => p.kind === 'open' && p.targetPerSecond === 1000 && !p.half);
  const w64 = w?.points.find((p) => p.kind === 'closed' && p.clients === 64);
  const e64 = e?.points.find((p) => p.kind === 'closed' && p.clients === 64);
  const ratio = w64?.throughputPerSecond && e64?.throughputPerSecond ? round(w64.throughputPerSecond / e64.throughputPerSecond, 3) : null;
  const p99 = at1000?.p99Ms ?? null;
  return [
    {
      id: 'http-p99-at-1000-per-s',
      description: 'waybill-http p99 (ms, request → answer, from the scheduled send time) in the open loop at 1,000 commands/s',
      measured: p99,
      threshold: TARGETS.p99MsAt1000PerSecond,
      pass: p99 === null ? null : p99 <= TARGETS.p99MsAt1000PerSecond && at1000.errors === 0,
      achievedPerSecond: at1000?.throughputPerSecond ?? null,
      errors: at1000?.errors ?? null,
    },
    {
      id: 'http-throughput-64-clients-vs-emmett',
      description: 'waybill-http throughput ÷ emmett-express throughput with 64 closed-loop clients (ratio)',
      measured: ratio,
      threshold: TARGETS.throughput64ClientsVsEmmett,
      pass: ratio === null ? null : ratio >= TARGETS.throughput64ClientsVsEmmett,
      waybillPerSecond: w64?.throughputPerSecond ?? null,
      emmettPerSecond: e64?.throughputPerSecond ?? null,
    },
  ];
}

function printTable(result) {
  const rows = [['system', 'point', 'commands/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'errors', 'polled 202', 'reducer chunk ms', 'machine speed']];
  for (const [system, f] of Object.entries(result.figures)) {
    for (const p of f.points) {
      rows.push([system, p.kind === 'closed' ? `${p.clients} client${p.clients === 1 ? '' : 's'}` : `open ${p.label}`, p.throughputPerSecond, p.p50Ms, p.p90Ms, p.p99Ms, p.maxMs, p.errors, p.pendingPolled, p.reducer?.meanChunkMs ?? '', p.machineSpeed?.roundsPerCpuSecond ?? '']);
    }
  }
  const targets = [['target', 'measured', 'threshold', 'pass'], ...result.targets.map((t) => [t.id, t.measured, t.threshold, t.pass === null ? 'not measured' : t.pass ? 'PASS' : 'FAIL'])];
  return `${table(rows)}\n\n${table(targets)}`;
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------
async function main() {
  const settings = readSettings(process.argv.slice(2));
  if (settings.help) {
    process.stdout.write(usage());
    return 0;
  }
  const ws = loadWorkspace();
  ws.platformHash = require('@waybill/platform').hashApiKey;
  const progress = settings.quiet ? ws.devstack.silentProgress : ws.devstack.terminalProgress();
  const startedAt = new Date();
  const { workDir, teardown, tearDown } = benchWorkDir('waybill-bench-http-');
  // The integration's own key: a principal of its own (role associate: create and every transition).
  const benchKey = { principal: 'bench.integration', role: 'associate', key: `bench-${randomBytes(16).toString('hex')}` };

  const machine = {
    ...machineInfo(root, ws.devstack.kafkaVersion(), {
      express: versionOf(require.resolve('express/package.json')),
      undici: versionOf(join(root, 'node_modules', 'undici', 'package.json')),
      postgres: null,
      loadAverageAtStart: os.loadavg().map((x) => round(x, 2)),
      gitDirty: Boolean(commandOutput('git', ['-C', root, 'status', '--porcelain'])),
    }),
  };
  const figures = {};
  const errors = {};
  try {
    if (!settings.skip.has('waybill')) {
      try {
        figures['waybill-http'] = await measureWaybill({ ws, settings, progress, workDir, teardown, benchKey });
      } catch (err) {
        errors['waybill-http'] = String(err?.stack ?? err);
        progress.done(`waybill-http failed: ${err.message}`);
      }
    }
    if (!settings.skip.has('emmett')) {
      try {
        figures['emmett-express'] = await measureEmmett({ ws, settings, progress, workDir, teardown, benchKey, machine });
      } catch (err) {
        errors['emmett-express'] = String(err?.stack ?? err);
        progress.done(`emmett-express failed: ${err.message}`);
      }
    }
  } finally {
    progress.step('tearing down');
    await tearDown();
    progress.done('torn down');
  }
  const finishedAt = new Date();
  const result = {
    ...runTimes('http', startedAt, finishedAt),
    quick: settings.quick,
    machine,
    settings: {
      ...settings,
      skip: [...settings.skip],
      resultsDir: relative(root, settings.resultsDir) || '.',
      principal: `${benchKey.principal} (${benchKey.role})`,
      outcomeWaitMs: 'default (2000)',
      session: STEPS.map((s) => s.command),
    },
    figures,
    targets: evaluateTargets(figures),
    ...(Object.keys(errors).length ? { errors } : {}),
  };
  const written = writeResult(settings.resultsDir, 'http', startedAt, result);
  process.stdout.write(`\n${printTable(result)}\n\nresults: ${written} (and http-latest.json), ${result.durationSeconds} s\n`);
  return Object.keys(errors).length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`bench:http failed: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
