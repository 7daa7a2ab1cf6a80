#!/usr/bin/env node
// `npm run soak`: the chaos suite (test/faults/chaos.faults.spec.ts) at many seeds in a row, each
// judged by the history checker, to find the seeds that break exactly-once. Not part of CI.
//
//   node bench/soak.mjs [--seeds 20] [--seed-start 4242] [--seed 9927,55697] [--help]   (npm run build first)
//
// Each seed is its own jest run of the chaos spec (FAULTS_SEED, FAULTS_RESULT_FILE), so there is
// one implementation of the chaos run and a seed that wedges or crashes cannot take the next one
// with it. FAULTS_CHAOS_MS, FAULTS_WORKERS and FAULTS_INSTANCES pass through. A progress line per seed; a failing
// seed's work folder (app logs, broker and Redis data) and jest output are kept under
// <tmp>/waybill-soak-<time>/seed-<seed>/; a passing seed's are deleted. Writes
// bench/results/soak-<time>.json and soak-latest.json. Exit code 1 when any seed failed.
import { commandOutput, versionOf } from './lib/machine.mjs';
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, rmdirSync, cpSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { round, table } from './lib/stats.mjs';
import { runTimes, writeResult } from './lib/results.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = dirname(benchDir);
const require = createRequire(import.meta.url);
const CHAOS_SPEC = 'test/faults/chaos.faults.spec.ts';

const OPTIONS = {
  seeds: { type: 'string', default: '20', help: 'how many seeds, from --seed-start on' },
  'seed-start': { type: 'string', default: '', help: 'the first seed [now % 100000]' },
  seed: { type: 'string', default: '', help: 'a comma list of seeds instead (e.g. 9927,55697)' },
  'results-dir': { type: 'string', default: join(benchDir, 'results'), help: 'where the JSON goes' },
  'keep-passing': { type: 'boolean', default: false, help: 'keep passing seeds\u2019 work folders too' },
  help: { type: 'boolean', default: false, help: 'this text' },
};

function usage() {
  const lines = Object.entries(OPTIONS).map(([name, o]) => `  --${name.padEnd(14)} ${o.help}${o.type !== 'boolean' && o.default !== '' ? ` [${o.default}]` : ''}`);
  return [
    'usage: node bench/soak.mjs [options]   (npm run soak -- [options])',
    ...lines,
    'environment: FAULTS_CHAOS_MS (chaos per seed, default 60000), FAULTS_WORKERS (default 6), FAULTS_INSTANCES (consumer instances on top of shipment-reducer=3,ledger=2,account-reducer=2) pass through to each run',
    '',
  ].join('\n');
}

function readSettings(argv) {
  const { values } = parseArgs({ args: argv, options: Object.fromEntries(Object.entries(OPTIONS).map(([name, o]) => [name, { type: o.type, default: o.default }])), strict: true });
  const integer = (name, raw) => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${raw}`);
    return n;
  };
  let seeds;
  if (values.seed) seeds = values.seed.split(',').map((s) => s.trim()).filter(Boolean).map((s) => integer('seed', s));
  else {
    const count = integer('seeds', values.seeds);
    const start = values['seed-start'] === '' ? Date.now() % 100_000 : integer('seed-start', values['seed-start']);
    seeds = Array.from({ length: count }, (_, i) => start + i);
  }
  if (!seeds.length) throw new Error('no seeds to run');
  return { help: values.help, seeds, resultsDir: values['results-dir'], keepPassing: values['keep-passing'] };
}

function machine() {
  let kafka = null;
  try {
    kafka = require(join(root, 'libs', 'devstack', 'dist', 'index.js')).kafkaVersion();
  } catch {
    // not built: the run itself says so
  }
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? null,
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    kafka,
    kafkajs: versionOf(require.resolve('kafkajs/package.json')),
    redis: commandOutput('redis-server', ['--version'])?.match(/v=(\S+)/)?.[1] ?? null,
    gitCommit: commandOutput('git', ['-C', root, 'rev-parse', 'HEAD']),
    // Others may be editing the tree: a soak of uncommitted code says so.
    gitDirty: (commandOutput('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no']) ?? '') !== '',
  };
}

const minutes = (ms) => `${Math.floor(ms / 60_000)}m ${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')}s`;
const slug = (kind) => kind.replace(/[^a-z0-9]+/gi, '-').toLowerCase();

/** One jest run of the chaos spec at `seed`; resolves with its exit code once it has ended. */
function runSeed(seed, resultFile, outputFile, onChild) {
  return new Promise((resolve) => {
    const out = createWriteStream(outputFile);
    const child = spawn(process.execPath, [join(dirname(require.resolve('jest/package.json')), 'bin', 'jest.js'), CHAOS_SPEC, '--ci', '--selectProjects', 'faults'], {
      cwd: root,
      env: { ...process.env, FAULTS_SEED: String(seed), FAULTS_RESULT_FILE: resultFile, NX_DAEMON: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onChild(child);
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    child.on('exit', (code, signal) => out.end(() => resolve(code ?? (signal ? 128 : 1))));
  });
}

function tail(file, lines) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Moves a folder, across file systems too. */
function move(from, to) {
  mkdirSync(dirname(to), { recursive: true });
  try {
    renameSync(from, to);
  } catch {
    cpSync(from, to, { recursive: true });
    rmSync(from, { recursive: true, force: true });
  }
}

async function main() {
  const settings = readSettings(process.argv.slice(2));
  if (settings.help) {
    process.stdout.write(usage());
    return 0;
  }
  if (!existsSync(join(root, 'tools', 'cli', 'dist', 'main.js'))) throw new Error('not built: run npm run build first (npm run soak does)');
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const soakDir = join(os.tmpdir(), `waybill-soak-${stamp}`);
  mkdirSync(soakDir, { recursive: true });
  const chaosMs = Number(process.env.FAULTS_CHAOS_MS ?? 60_000);
  const workers = Number(process.env.FAULTS_WORKERS ?? 6);
  process.stderr.write(`soak: ${settings.seeds.length} seed${settings.seeds.length === 1 ? '' : 's'} (${settings.seeds.join(', ')}), ${chaosMs} ms of chaos each; failing seeds kept under ${soakDir}\n`);

  let current;
  let interrupted = false;
  const onSignal = (signal) => {
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping the current seed\n`);
    current?.kill('SIGINT');
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const seeds = [];
  for (const [index, seed] of settings.seeds.entries()) {
    if (interrupted) break;
    const seedDir = join(soakDir, `seed-${seed}`);
    mkdirSync(seedDir, { recursive: true });
    const resultFile = join(seedDir, 'result.json');
    const outputFile = join(seedDir, 'jest.log');
    const began = Date.now();
    const code = await runSeed(seed, resultFile, outputFile, (child) => (current = child));
    current = undefined;
    const durationMs = Date.now() - began;
    let result;
    try {
      result = JSON.parse(readFileSync(resultFile, 'utf8'));
    } catch {
      result = undefined;
    }
    const passed = code === 0 && result?.passed === true;
    const entry = {
      seed,
      passed,
      commandsAcknowledged: result?.commandsAcknowledged ?? null,
      instances: result?.instances ?? null,
      anomalies: result?.anomalies ?? null,
      anomaliesByKind: result?.anomaliesByKind ?? null,
      firstExamples: result ? Object.fromEntries(result.verdict.kinds.filter((k) => k.count > 0).map((k) => [k.kind, k.examples[0]])) : {},
      openTransactions: result?.verdict.openTransactions ?? [],
      durationMs: result?.durationMs ?? durationMs,
      jestExitCode: code,
    };
    if (!result) entry.error = `no result from the run (jest exit ${code}): ${tail(outputFile, 30)}`;
    else if (!passed && result.anomalies === 0) entry.error = code === 0 ? 'too little load to count' : `jest failed (exit ${code}) with no anomaly: ${tail(outputFile, 30)}`;

    if (passed && !settings.keepPassing) {
      if (result?.workDir) rmSync(result.workDir, { recursive: true, force: true });
      rmSync(seedDir, { recursive: true, force: true });
    } else {
      if (result?.workDir && existsSync(result.workDir)) move(result.workDir, join(seedDir, 'work'));
      entry.keptIn = seedDir;
      entry.logsDir = join(seedDir, 'work', 'logs');
    }
    seeds.push(entry);

    const found = entry.anomaliesByKind ? Object.entries(entry.anomaliesByKind).filter(([, n]) => n > 0).map(([kind, n]) => `${kind} ×${n}`) : [];
    const what = passed ? 'PASS' : 'FAIL';
    const detail = found.length ? `anomalies: ${found.join(', ')}` : entry.error ? entry.error.split('\n')[0].slice(0, 200) : 'no anomalies';
    process.stderr.write(
      `[${index + 1}/${settings.seeds.length}] seed ${seed}  ${what}  ${entry.commandsAcknowledged ?? '?'} acknowledged  ${detail}  (${minutes(entry.durationMs)})${entry.keptIn ? `  kept: ${entry.keptIn}` : ''}\n`,
    );
  }
  try {
    rmdirSync(soakDir); // only when nothing was kept
  } catch {
    // failing seeds are in it
  }

  const kinds = [...new Set(seeds.flatMap((s) => Object.keys(s.anomaliesByKind ?? {})))];
  const anomaliesByKind = Object.fromEntries(kinds.map((kind) => [kind, seeds.reduce((n, s) => n + (s.anomaliesByKind?.[kind] ?? 0), 0)]));
  const failing = seeds.filter((s) => !s.passed);
  const incomplete = seeds.filter((s) => s.anomalies === null || (s.anomalies === 0 && !s.passed));
  const totals = {
    seeds: seeds.length,
    passed: seeds.length - failing.length,
    failed: failing.length,
    failingSeeds: failing.map((s) => s.seed),
    commandsAcknowledged: seeds.reduce((n, s) => n + (s.commandsAcknowledged ?? 0), 0),
    anomalies: Object.values(anomaliesByKind).reduce((a, b) => a + b, 0),
    anomaliesByKind,
  };
  const targets = [
    ...kinds.map((kind) => ({
      id: `anomalies-${slug(kind)}`,
      description: `"${kind}" anomalies over all seeds (anomalies of every kind = 0)`,
      measured: anomaliesByKind[kind],
      threshold: 0,
      seeds: seeds.filter((s) => (s.anomaliesByKind?.[kind] ?? 0) > 0).map((s) => s.seed),
      pass: anomaliesByKind[kind] === 0,
    })),
    {
      id: 'every-seed-judged',
      description: 'every seed ran to the checker with load enough to count (no crash, no run cut short)',
      measured: incomplete.length,
      threshold: 0,
      seeds: incomplete.map((s) => s.seed),
      pass: incomplete.length === 0,
    },
  ];
  const finishedAt = new Date();
  const result = {
    ...runTimes('soak', startedAt, finishedAt),
    interrupted,
    machine: machine(),
    settings: { seeds: settings.seeds, chaosMs, workers, instances: process.env.FAULTS_INSTANCES ?? null, spec: CHAOS_SPEC, resultsDir: relative(root, settings.resultsDir) || '.' },
    seeds,
    totals,
    targets,
  };
  const written = writeResult(settings.resultsDir, 'soak', startedAt, result);
  const rows = [['seed', 'result', 'acknowledged', 'anomalies', 'duration'], ...seeds.map((s) => [s.seed, s.passed ? 'PASS' : 'FAIL', s.commandsAcknowledged ?? '?', s.anomalies ?? '?', minutes(s.durationMs)])];
  const targetRows = [['target', 'measured', 'threshold', 'result'], ...targets.map((t) => [t.id, t.measured, t.threshold, t.pass ? 'PASS' : `FAIL (seeds ${t.seeds.join(', ')})`])];
  process.stdout.write(`\n${table(rows)}\n\n${table(targetRows)}\n\nresults: ${written} (and soak-latest.json)\n`);
  return interrupted ? 130 : failing.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`soak: ${err?.stack ?? err}\n`);
    process.exit(2);
  },
);
