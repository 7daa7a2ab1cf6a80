#!/usr/bin/env node
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import Table from 'cli-table3';
import { DEMO_KEYS } from './lib/demo-keys';
import { terminalProgress } from './lib/progress';
import { parseInstanceList, startStack, type Stack } from './lib/stack';
import { workspaceRoot } from './lib/workspace';
import { superviseApps } from './lib/supervisor';

const positiveInt = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
};

/** The option may be repeated; a malformed item is commander's usage error. */
const instanceList = (value: string, previous: Record<string, number> = {}) => {
  try {
    return { ...previous, ...parseInstanceList(value) };
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};

async function printTable(stack: Stack): Promise<void> {
  const table = new Table({ head: ['component', 'URL', 'health'], style: process.stdout.isTTY ? { head: ['cyan'] } : { head: [], border: [] } });
  for (const row of await stack.health()) table.push([row.name, row.url, row.health]);
  table.push([{ colSpan: 3, content: 'demo API keys (send as X-API-Key)' }]);
  for (const key of DEMO_KEYS) table.push([key.role, key.key, key.principal]);
  process.stdout.write(`${table.toString()}\n`);
}

/** Runs the whole local stack in the foreground until Ctrl-C (or SIGTERM). */
export async function up(argv = process.argv): Promise<void> {
  const program = new Command('waybill-stack')
    .description('Start Kafka, Redis, the topics and every Waybill app on this machine, in the foreground.')
    .option('--data-dir <dir>', 'where Kafka, Redis and logs keep their files', process.env.WAYBILL_DATA_DIR ?? resolve(workspaceRoot(), '.data'))
    .option('--free-ports', 'pick free ports instead of 9092/9093/6379 and the apps\' defaults', false)
    .option('--kafka-heap-mb <mb>', 'Kafka JVM heap ceiling', positiveInt, Number(process.env.KAFKA_HEAP_MB ?? 512))
    .option('--partitions <n>', 'partitions per domain topic', positiveInt)
    .option('--no-apps', 'start only Kafka and Redis')
    .option('--redis-cluster', 'a three-master Redis Cluster (ports 7000-7002) instead of one Redis', false)
    .option('--instances <list>', 'run more instances of an app in its consumer groups: shipment-reducer=3,ledger=2', instanceList)
    .option('--demo', 'once everything is up, feed it a day of warehouse traffic (tools/demo)', false)
    .allowExcessArguments(false);
  program.parse(argv);
  const options = program.opts<{ dataDir: string; freePorts: boolean; kafkaHeapMb: number; partitions?: number; apps: boolean; demo: boolean; redisCluster: boolean; instances?: Record<string, number> }>();

  const progress = terminalProgress();
  let stack: Stack | undefined;
  let stopping = false;
  // Filled once the stack is up; Ctrl-C before that has nothing to stop here.
  const supervisors: Array<{ stop(): void }> = [];
  const stop = async (signal: string) => {
    if (stopping) {
      process.stderr.write('second interrupt: killing everything now\n');
      process.exit(130);
    }
    stopping = true;
    for (const supervisor of supervisors) supervisor.stop();
    process.stderr.write(`\n${signal}: stopping the stack (apps, then Kafka and Redis)…\n`);
    const started = Date.now();
    await stack?.stop();
    process.stderr.write(`stopped in ${Date.now() - started} ms; data kept in ${options.dataDir}\n`);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  // `npm start` killed (SIGTERM to npm, which does not pass it on) leaves this process orphaned:
  // its parent changing is the signal to stop everything too.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent && !stopping) void stop(`its parent process (${parent}) exited`);
  }, 500).unref();

  try {
    stack = await startStack({
      dataDir: options.dataDir,
      freePorts: options.freePorts,
      kafkaHeapMb: options.kafkaHeapMb,
      partitions: options.partitions,
      redisUrl: process.env.REDIS_URL,
      apps: options.apps ? undefined : [],
      instances: options.instances,
      redisCluster: options.redisCluster,
      progress,
    });
  } catch (err) {
    process.stderr.write(`\n✖ ${(err as Error).message}\n`);
    process.exit(1);
  }
  if (stopping) return;
  await printTable(stack);
  process.stdout.write(`Waybill is running (data in ${options.dataDir}). Press Ctrl-C to stop.\n`);
  if (options.demo) {
    // The demo talks to the stack only through its public HTTP APIs, like any client would.
    const demo = spawn(process.execPath, [join(workspaceRoot(), 'tools', 'demo', 'demo.mjs'), '--stack', join(options.dataDir, 'stack.json')], {
      stdio: 'inherit',
    });
    demo.on('exit', (code) => {
      if (code !== 0 && !stopping) process.stderr.write(`⚠ the demo exited with ${code}; the stack keeps running\n`);
    });
  }
  // Apps that exit on their own are restarted (compose's restart policy, locally); Kafka or Redis
  // dying is said at once instead of serving a half-dead stack silently.
  supervisors.push(superviseApps(stack.apps, { root: workspaceRoot(), appEnv: stack.appEnv, logsDir: join(options.dataDir, 'logs'), say: (line) => void (stopping || process.stderr.write(`${line}\n`)) }));
  for (const service of [stack.kafka.service, stack.redis.service]) {
    void service?.exited.then(({ code, signal }) => {
      if (!stopping) process.stderr.write(`⚠ ${service.name} exited (code ${code}, signal ${signal}); see ${options.dataDir}/logs\n`);
    });
  }
}

if (require.main === module) void up();
