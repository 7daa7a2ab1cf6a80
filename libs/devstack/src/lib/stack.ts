import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { topicSpecs, DEFAULT_PARTITIONS } from '@waybill/contracts';
import { appUrlVariable, discoverApps, healthOf, instanceName, startApp, type RunningApp } from './apps';
import { apiKeysSpec, DEMO_KEYS, type DemoKey } from './demo-keys';
import { startKafka, type KafkaHandle } from './kafka';
import { ServiceStartError } from './errors';
import { assertPortFree, freePort } from './ports';
import type { Progress } from './progress';
import { startRedis, startRedisCluster, useExternalRedis, type RedisHandle } from './redis';
import { startSchemaRegistry, type RegistryHandle } from './registry';
import { ensureTopics } from './topics';
import { workspaceRoot } from './workspace';

export interface StackOptions {
  /** Where Kafka (`kafka/`), Redis (`redis/`) and app logs (`logs/`) keep their files. */
  dataDir: string;
  /** Pick free ports instead of the fixed defaults (tests, a second stack beside the first). */
  freePorts?: boolean;
  kafkaPort?: number;
  kafkaControllerPort?: number;
  kafkaHeapMb?: number;
  /** Use this Redis instead of starting a private one. */
  redisUrl?: string;
  redisPort?: number;
  /** Start a three-master Redis Cluster (ports 7000-7002, or free ones) instead of one Redis; the apps get REDIS_CLUSTER=true. */
  redisCluster?: boolean;
  registryPort?: number;
  partitions?: number;
  /** Which apps to start: all discovered apps by default, none with `[]`. */
  apps?: string[];
  /**
   * More than one instance of an app, in its consumer groups (`{ 'shipment-reducer': 3 }`): the
   * first keeps the app's port and is the URL other apps get; the others get free ports and log
   * to `<app>-<n>.log`. Consumer groups share the partitions among them.
   */
  instances?: Readonly<Record<string, number>>;
  /** The keys every app accepts (`API_KEYS`): the demo keys by default; a bench adds its own. */
  apiKeys?: readonly DemoKey[];
  /** More environment for every app, over the stack's own (e.g. `RATE_LIMIT_PER_MINUTE`). */
  env?: Record<string, string>;
  progress: Progress;
}

export interface Endpoint {
  name: string;
  url: string;
  kind: 'infrastructure' | 'app';
}

export interface Stack {
  kafka: KafkaHandle;
  redis: RedisHandle;
  registry: RegistryHandle;
  apps: RunningApp[];
  endpoints: Endpoint[];
  /** The environment every app gets: what a new app needs to join this stack. */
  appEnv: Record<string, string>;
  health(): Promise<Array<Endpoint & { health: string }>>;
  stop(): Promise<void>;
}

const DEFAULT_PORTS = { kafka: 9092, kafkaController: 9093, redis: 6379, registry: 8081 };
const REDIS_CLUSTER_PORTS = [7000, 7001, 7002];

async function choosePort(fixed: number | undefined, fallback: number, free: boolean, what: string): Promise<number> {
  if (fixed !== undefined) return assertPortFree(fixed, what).then(() => fixed);
  if (free) return freePort();
  await assertPortFree(fallback, what);
  return fallback;
}

/** Most instances of one app: more than the partitions of a topic would leave some idle. */
export const MAX_INSTANCES = 12;

/**
 * `shipment-reducer=3,ledger=2` → { 'shipment-reducer': 3, ledger: 2 }: the form of `npm start --
 * --instances` and of the faults suite's FAULTS_INSTANCES. Names and counts are checked when a
 * stack starts (against the apps there are).
 */
export function parseInstanceList(value: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of value.split(',').map((part) => part.trim()).filter(Boolean)) {
    const match = /^([a-z][a-z0-9-]*)=(\d+)$/.exec(item);
    if (!match) throw new Error(`expected <app>=<count>, e.g. shipment-reducer=3 (got "${item}")`);
    counts[match[1]] = Number(match[2]);
  }
  return counts;
}

/** `instances` checked against the apps there are: unknown names and bad counts are refused. */
function instanceCounts(instances: StackOptions['instances'], apps: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const [app, count] of Object.entries(instances ?? {})) {
    if (!apps.includes(app)) throw new ServiceStartError(`--instances names ${app}, which is not an app (apps: ${apps.join(', ')})`);
    if (!Number.isInteger(count) || count < 1 || count > MAX_INSTANCES) throw new ServiceStartError(`--instances ${app}=${count}: the count must be a whole number from 1 to ${MAX_INSTANCES}`);
    counts.set(app, count);
  }
  return counts;
}

/** Starts Kafka, Redis, the topics and the apps, in that order; stops them in reverse. */
/** The stack's Redis Cluster, as the one Redis handle the rest of the stack knows: its URL lists every node. */
async function startLocalRedisCluster(dataDir: string, free: boolean, progress: Progress): Promise<RedisHandle> {
  const ports: number[] = [];
  for (const port of REDIS_CLUSTER_PORTS) ports.push(await choosePort(undefined, port, free, `Redis Cluster node ${port}`));
  // On free ports the nodes.conf of a previous run names ports that are gone: start the cluster
  // afresh (everything in it is rebuilt from Kafka). On the fixed ones it forms once and is kept.
  if (free) rmSync(dataDir, { recursive: true, force: true });
  const cluster = await startRedisCluster({ dataDir, ports, stableBusPorts: !free }, progress);
  return { url: cluster.urls, service: cluster.services[0], stop: cluster.stop };
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const root = workspaceRoot();
  const dataDir = resolve(options.dataDir);
  const logsDir = join(dataDir, 'logs');
  mkdirSync(logsDir, { recursive: true });
  const { progress } = options;
  const free = options.freePorts ?? false;
  // A wrong --instances is refused before anything starts.
  const discovered = discoverApps(root);
  const instances = instanceCounts(options.instances, discovered.map((a) => a.name));
  const startedInfra: Array<{ stop(): Promise<void> }> = [];
  const startedApps: RunningApp[] = [];
  const stopAll = async () => {
    // Apps first (they finish their batch and commit), then the infrastructure they were using.
    await Promise.allSettled(startedApps.map((app) => app.service.stop(10_000)));
    // NOTE: one at a time, in the list's order (the registry is put first): the registry reads its
    // schemas from Kafka, and stopped beside Kafka it waited out its whole shutdown timeout (10 s,
    // an error line) for a broker already gone.
    for (const service of startedInfra) await service.stop().catch(() => undefined);
    rmSync(join(dataDir, 'stack.json'), { force: true });
  };

  try {
    const kafkaPort = await choosePort(options.kafkaPort, DEFAULT_PORTS.kafka, free, 'Kafka');
    const controllerPort = await choosePort(options.kafkaControllerPort, DEFAULT_PORTS.kafkaController, free, 'the Kafka controller');
    const kafka = await startKafka(
      { dataDir: join(dataDir, 'kafka'), brokerPort: kafkaPort, controllerPort, heapMb: options.kafkaHeapMb, root },
      progress,
    );
    startedInfra.push(kafka);

    const redis = options.redisUrl
      ? await useExternalRedis(options.redisUrl)
      : options.redisCluster
        ? await startLocalRedisCluster(join(dataDir, 'redis-cluster'), free, progress)
        : await startRedis({ dataDir: join(dataDir, 'redis'), port: await choosePort(options.redisPort, DEFAULT_PORTS.redis, free, 'Redis') }, progress);
    startedInfra.push(redis);

    const registry = await startSchemaRegistry(
      { port: await choosePort(options.registryPort, DEFAULT_PORTS.registry, free, 'the schema registry'), brokers: kafka.brokers, logsDir },
      progress,
    );
    startedInfra.unshift(registry);

    progress.step('creating topics');
    const created = await ensureTopics(kafka.brokers, topicSpecs({ partitions: options.partitions ?? DEFAULT_PARTITIONS }));
    progress.done(created.length ? `created ${created.length} topics` : 'topics already exist');

    const appEnv: Record<string, string> = {
      KAFKA_BROKERS: kafka.bootstrap,
      REDIS_URL: redis.url,
      ...(options.redisCluster && !options.redisUrl ? { REDIS_CLUSTER: 'true' } : {}),
      SCHEMA_REGISTRY_URL: registry.url,
      API_KEYS: apiKeysSpec(options.apiKeys ?? DEMO_KEYS),
      NODE_ENV: 'development',
      ...options.env,
    };
    for (const app of discovered.filter((a) => !options.apps || options.apps.includes(a.name))) {
      for (let instance = 1; instance <= (instances.get(app.name) ?? 1); instance += 1) {
        const port = free || instance > 1 ? await freePort() : app.defaultPort;
        const running = await startApp(app, port, appEnv, logsDir, progress, instance);
        startedApps.push(running);
        // Apps that call another app find it as <NAME>_URL (e.g. the ledger's SHIPMENT_HANDLER_URL).
        if (instance === 1) appEnv[appUrlVariable(app.name)] = running.url;
      }
    }

    const endpoints: Endpoint[] = [
      { name: 'kafka', url: `kafka://${kafka.bootstrap}`, kind: 'infrastructure' },
      { name: 'redis', url: redis.url, kind: 'infrastructure' },
      { name: 'schema-registry', url: registry.url, kind: 'infrastructure' },
      ...startedApps.map((a) => ({ name: instanceName(a), url: a.url, kind: 'app' as const })),
    ];
    writeFileSync(join(dataDir, 'stack.json'), JSON.stringify({ pid: process.pid, endpoints, env: appEnv }, null, 2));

    return {
      kafka,
      redis,
      registry,
      apps: startedApps,
      endpoints,
      appEnv,
      async health() {
        return Promise.all(
          endpoints.map(async (e) => {
            if (e.kind === 'app') {
              const status = await healthOf(e.url);
              return { ...e, health: status === 200 ? 'healthy' : `unhealthy (${status})` };
            }
            const service = { kafka: kafka.service, redis: redis.service, 'schema-registry': registry.service }[e.name];
            return { ...e, health: !service || !service.hasExited ? 'running' : 'exited' };
          }),
        );
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
