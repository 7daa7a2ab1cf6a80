// How a bench starts one of Waybill's built apps beside its own stack: a child process with the
// stack's addresses and the demo API keys, its output in a log file.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';

/**
 * Spawns `entry` (an app's dist/main.js) with the stack's KAFKA_BROKERS, REDIS_URL,
 * SCHEMA_REGISTRY_URL, API_KEYS and PORT, plus `env`; stdout and stderr go to `logFile`.
 */
export function spawnBenchApp(entry, { root, devstack, brokers, redisUrl, registryUrl, port, logFile, logLevel = 'warn', env = {}, nodeArgs = [] }) {
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, [...nodeArgs, entry], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      NODE_ENV: 'production',
      LOG_LEVEL: logLevel,
      KAFKA_BROKERS: brokers.join(','),
      REDIS_URL: redisUrl,
      SCHEMA_REGISTRY_URL: registryUrl,
      PORT: String(port),
      API_KEYS: devstack.apiKeysSpec(),
      ...env,
    },
  });
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  return child;
}
