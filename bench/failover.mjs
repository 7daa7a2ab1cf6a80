#!/usr/bin/env node
// `npm run bench:failover`: the failover test (test/e2e/failover.e2e.spec.ts) of every consumer app,
// its timings kept as JSON under bench/results/ with a target per app and case: from the kill -9 to
// the first commit on each partition the dead instance owned (another instance alive), and to the
// first commit on every partition (the sole instance killed and started again), each ≤ 10 s.
//
//   node bench/failover.mjs   (npm run build first; npm run bench:failover does)
//
// One implementation of the measurement: this runs that jest spec (FAILOVER_RESULT_FILE) and
// judges what it wrote. Exit code 1 when a target fails or the spec failed.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineInfo } from './lib/machine.mjs';
import { runTimes, writeResult } from './lib/results.mjs';
import { table } from './lib/stats.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = dirname(benchDir);
const require = createRequire(import.meta.url);
const SPEC = 'test/e2e/failover.e2e.spec.ts';

function runSpec(resultFile) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(dirname(require.resolve('jest/package.json')), 'bin', 'jest.js'), SPEC, '--ci', '--selectProjects', 'integration'], {
      cwd: root,
      env: { ...process.env, FAILOVER_RESULT_FILE: resultFile, NX_DAEMON: 'false' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

async function main() {
  const startedAt = new Date();
  const dir = mkdtempSync(join(os.tmpdir(), 'waybill-failover-'));
  const resultFile = join(dir, 'failover.json');
  const code = await runSpec(resultFile);
  let measured;
  try {
    measured = JSON.parse(readFileSync(resultFile, 'utf8'));
  } catch {
    process.stderr.write(`failover: the spec wrote no timings (jest exit ${code})\n`);
    return 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const worst = (ms) => Math.max(...Object.values(ms));
  const targets = measured.timings.flatMap((t) => [
    {
      id: `${t.app}-hand-over-ms`,
      description: `${t.app}: kill -9 of one of two instances → the other's first commit on the partitions it owned (worst partition), ms`,
      measured: worst(t.handOverMs),
      threshold: measured.limitMs,
      pass: worst(t.handOverMs) <= measured.limitMs,
    },
    {
      id: `${t.app}-sole-restart-ms`,
      description: `${t.app}: kill -9 of the sole instance, started again at once → its first commit on every partition (worst partition), ms`,
      measured: worst(t.backMs),
      threshold: measured.limitMs,
      pass: worst(t.backMs) <= measured.limitMs,
    },
  ]);
  const devstack = require(join(root, 'libs', 'devstack', 'dist', 'index.js'));
  const result = {
    ...runTimes('failover', startedAt),
    machine: machineInfo(root, devstack.kafkaVersion()),
    settings: { spec: SPEC, sessionTimeoutMs: measured.sessionTimeoutMs, partitions: 4, instances: 2 },
    jestExitCode: code,
    timings: measured.timings,
    targets,
  };
  const written = writeResult(join(benchDir, 'results'), 'failover', startedAt, result);
  const rows = [['app', 'hand-over (worst partition)', 'sole restart: ready', 'sole restart: processing'], ...measured.timings.map((t) => [t.app, `${worst(t.handOverMs)} ms`, `${t.restartReadyMs} ms`, `${worst(t.backMs)} ms`])];
  process.stdout.write(`\n${table(rows)}\n\nresults: ${written} (and failover-latest.json)\n`);
  return code === 0 && targets.every((t) => t.pass) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`failover: ${err?.stack ?? err}\n`);
    process.exit(2);
  },
);
