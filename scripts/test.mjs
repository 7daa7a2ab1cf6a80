#!/usr/bin/env node
// `npm test`: build, lint (module boundaries included), type-check tests, then every jest test:
// unit and integration (the integration global setup starts Kafka and Redis itself).
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' };

function run(title, command, args) {
  process.stderr.write(`\n=== ${title}\n`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env });
  if (result.status !== 0) {
    process.stderr.write(`✖ ${title} failed\n`);
    process.exit(result.status ?? 1);
  }
}

run('build', 'npx', ['nx', 'run-many', '-t', 'build', '--output-style=static']);
run('lint', 'npx', ['nx', 'run-many', '-t', 'lint', '--output-style=static']);
run('type-check (sources and tests)', 'npx', ['tsc', '-p', 'tsconfig.json']);
run('jest (unit and integration)', 'npx', ['jest', '--ci', '--maxWorkers=2', ...process.argv.slice(2)]);
