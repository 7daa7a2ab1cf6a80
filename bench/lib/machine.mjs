// What a bench ran on, for its JSON: the machine and the versions beside each figure.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';

const require = createRequire(import.meta.url);

/** A command's trimmed stdout, or null when it fails or is missing. */
export function commandOutput(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** The `version` of a package.json, or null. */
export function versionOf(pkgJson) {
  try {
    return JSON.parse(readFileSync(pkgJson, 'utf8')).version;
  } catch {
    return null;
  }
}

/** CPUs, memory, OS, Node, Kafka, kafkajs, Redis and the commit; `extra` goes before the commit. */
export function machineInfo(root, kafkaVersion, extra = {}) {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? null,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    kafka: kafkaVersion,
    kafkajs: versionOf(require.resolve('kafkajs/package.json')),
    redis: commandOutput('redis-server', ['--version'])?.match(/v=(\S+)/)?.[1] ?? null,
    ...extra,
    gitCommit: commandOutput('git', ['-C', root, 'rev-parse', 'HEAD']),
  };
}
