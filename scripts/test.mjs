#!/usr/bin/env node
// `npm test`: build, lint (module boundaries included), type-check tests, then every jest test:
// unit and integration (the integration global setup starts Kafka and Redis itself), then
// `npm start` itself (alone), then the faults suite (npm run test:faults).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
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

// The Python interop test reads our topics with Confluent's own client, and the OpenAPI conformance
// faults test runs schemathesis against every app: both from PyPI, in one private venv.
const venv = join(root, '.cache', 'python');
const requirements = [join(root, 'test', 'interop', 'requirements.txt'), join(root, 'test', 'faults', 'requirements.txt')];
const stamp = join(venv, 'requirements.sha256');
const wanted = createHash('sha256').update(requirements.map((file) => readFileSync(file, 'utf8')).join('\n')).digest('hex');
if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== wanted) {
  run('python venv for the interop and OpenAPI conformance tests', 'python3', ['-m', 'venv', venv]);
  run('pip install -r test/interop/requirements.txt -r test/faults/requirements.txt', join(venv, 'bin', 'pip'), ['install', '-q', ...requirements.flatMap((file) => ['-r', file])]);
  writeFileSync(stamp, wanted);
}

// The admin page's browser tests drive Debian's Chromium through playwright-core. Installed the way
// `npm start` installs redis-server (as root, through apt), or one clear stop before anything runs.
const CHROMIUM = '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  const isRoot = process.getuid?.() === 0;
  const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
  if (!isRoot || !hasApt) {
    process.stderr.write(
      `✖ ${CHROMIUM} is missing: the admin page's browser tests need Debian's Chromium. Install it with\n` +
        `    sudo apt-get install chromium\n` +
        `  (or run npm test as root on Debian/Ubuntu and it installs it), then run npm test again.\n`,
    );
    process.exit(1);
  }
  env.DEBIAN_FRONTEND = 'noninteractive';
  run('apt-get update (for chromium)', 'apt-get', ['update', '-qq']);
  run('installing chromium from Debian packages (the admin page tests)', 'apt-get', ['install', '-y', '-qq', 'chromium']);
}

run('build', 'npx', ['nx', 'run-many', '-t', 'build', '--output-style=static']);
run('lint', 'npx', ['nx', 'run-many', '-t', 'lint', '--output-style=static']);
run('type-check (sources and tests)', 'npx', ['tsc', '-p', 'tsconfig.json']);
const only = process.argv.slice(2);
run('jest (unit and integration)', 'npx', ['jest', '--ci', '--maxWorkers=2', '--selectProjects', 'unit', 'integration', ...only]);
// `npm start` as a person runs it, alone: its build step restores dist/ folders from nx's cache.
if (!only.length) run('jest: npm start itself', 'npx', ['jest', '--ci', '--selectProjects', 'stack']);
// Faults last and alone: it SIGKILLs brokers and apps and drives load, and wants both cores.
if (!only.length) run('faults: crashes, hostile input, security (npm run test:faults)', 'npm', ['run', 'test:faults']);
