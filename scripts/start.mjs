#!/usr/bin/env node
// `npm start`: makes a fresh clone runnable (npm packages, build), then hands over to the
// devstack, which fetches Kafka's jars and redis-server itself and runs everything in the
// foreground. Only Node built-ins here: this runs before node_modules exists.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);

function step(title, command, args) {
  process.stderr.write(`… ${title}\n`);
  const result = spawnSync(command, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, NX_DAEMON: 'false' } });
  if (result.status !== 0) {
    process.stderr.write(`✖ ${title} failed (${command} ${args.join(' ')} exited with ${result.status ?? result.signal})\n`);
    process.exit(1);
  }
}

function installNeeded() {
  const installed = join(root, 'node_modules', '.package-lock.json');
  if (!existsSync(installed)) return true;
  return statSync(join(root, 'package-lock.json')).mtimeMs > statSync(installed).mtimeMs;
}

for (const [tool, hint] of [['java', 'Java 17 (Debian: apt-get install openjdk-17-jre-headless)'], ['mvn', 'Maven (Debian: apt-get install maven)']]) {
  if (spawnSync(tool, ['-version'], { stdio: 'ignore' }).error) {
    process.stderr.write(`✖ ${tool} was not found on PATH. Waybill runs Apache Kafka from its jars and needs ${hint}.\n`);
    process.exit(1);
  }
}
if (installNeeded()) step('installing npm packages (npm ci)', 'npm', ['ci', '--no-audit', '--no-fund']);
step('building (nx run-many -t build)', 'npx', ['nx', 'run-many', '-t', 'build', '--output-style=static']);

const { up } = require(join(root, 'libs', 'devstack', 'dist', 'index.js'));
await up([process.argv[0], 'waybill-stack', ...process.argv.slice(2)]);
