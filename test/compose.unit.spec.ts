import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { DEAD_LETTER_RETENTION_MS, DEFAULT_PARTITIONS, TOPICS, TOPIC_RETENTION_MS } from '@waybill/contracts';
import { apiKeysSpec, discoverApps, kafkaVersion } from '@waybill/devstack';

// No Docker engine runs here, so docker-compose.yml is checked against what the local stack
// and the apps themselves declare: a drifted compose file fails CI instead of a deployment.

const root = join(__dirname, '..');
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true });
const services: Record<string, any> = compose.services;

/** What compose does with `${VAR:-default}` when VAR is unset, and with `$$`. */
function interpolate(value: unknown): string {
  return String(value)
    .replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')
    .replace(/\$\$/g, '$');
}

function environmentOf(service: any): Record<string, string> {
  return Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, interpolate(v)]));
}

describe('docker-compose.yml', () => {
  const kafkaServices = Object.entries(services).filter(([name]) => /^kafka-\d$/.test(name));

  it('runs three KRaft brokers of the same Kafka version as the local stack', () => {
    expect(kafkaServices).toHaveLength(3);
    const version = kafkaVersion(root);
    const voters = new Set<string>();
    for (const [name, service] of kafkaServices) {
      const env = environmentOf(service);
      expect(service.image).toBe(`apache/kafka:${version}`);
      expect(env.KAFKA_PROCESS_ROLES).toBe('broker,controller');
      expect(env.KAFKA_ADVERTISED_LISTENERS).toBe(`PLAINTEXT://${name}:9092`);
      expect(env.KAFKA_MIN_INSYNC_REPLICAS).toBe('2');
      expect(env.KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR).toBe('3');
      expect(service.healthcheck?.test).toBeDefined();
      env.KAFKA_CONTROLLER_QUORUM_VOTERS.split(',').forEach((v) => voters.add(v));
      expect(env.KAFKA_CONTROLLER_QUORUM_VOTERS.split(',')).toContain(`${env.KAFKA_NODE_ID}@${name}:9093`);
    }
    expect(voters.size).toBe(3);
    expect(services['kafka-init'].image).toBe(`apache/kafka:${version}`);
  });

  it('creates every topic of the local stack with replication 3 and min.insync.replicas=2', () => {
    const init = services['kafka-init'];
    const env = environmentOf(init);
    const entries = env.TOPICS.split(/\s+/).map((entry: string) => entry.split('='));
    expect(entries.map(([topic]: string[]) => topic).sort()).toEqual(Object.values(TOPICS).sort());
    // Each topic's retention as the local stack creates it (libs/contracts TOPIC_RETENTION_MS).
    for (const [topic, retention] of entries) expect(Number(retention)).toBe(TOPIC_RETENTION_MS[topic as keyof typeof TOPIC_RETENTION_MS]);
    expect(Number(env.PARTITIONS)).toBe(DEFAULT_PARTITIONS);
    expect(env.REPLICATION_FACTOR).toBe('3');
    expect(env.MIN_INSYNC_REPLICAS).toBe('2');
    const script = interpolate(init.command.join('\n'));
    expect(script).toContain('--topic "$topic.dlq"');
    expect(script).toContain(`--config retention.ms=${DEAD_LETTER_RETENTION_MS}`);
    expect(script).toContain('--config cleanup.policy=delete --config retention.ms="$retention"');
    expect(script).toContain('--if-not-exists');
    for (const dependency of kafkaServices.map(([name]) => name)) {
      expect(init.depends_on[dependency]).toEqual({ condition: 'service_healthy' });
    }
  });

  it('has Confluent Schema Registry on the cluster and Redis with AOF, each with a healthcheck', () => {
    const registry = services['schema-registry'];
    expect(registry.image).toMatch(/^confluentinc\/cp-schema-registry:\d+\.\d+\.\d+$/);
    const registryEnv = environmentOf(registry);
    for (const [name] of kafkaServices) expect(registryEnv.SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS).toContain(`${name}:9092`);
    expect(registryEnv.SCHEMA_REGISTRY_KAFKASTORE_TOPIC).toBe('_schemas');
    expect(registry.healthcheck?.test).toBeDefined();
    const redis = services.redis;
    expect(redis.image).toMatch(/^redis:7\./);
    expect(redis.command.join(' ')).toContain('--appendonly yes');
    expect(redis.healthcheck?.test).toBeDefined();
  });

  describe('apps', () => {
    const apps = discoverApps(root);
    const appServices = Object.entries(services).filter(([, s]) => s.build);

    it('has one service per app, each built from infra/Dockerfile with APP set', () => {
      expect(appServices.map(([name]) => name).sort()).toEqual(apps.map((a) => a.name).sort());
      for (const [name, service] of appServices) {
        expect(service.build.dockerfile).toBe('infra/Dockerfile');
        expect(service.build.args?.APP).toBe(name);
      }
      const dockerfile = readFileSync(join(root, 'infra', 'Dockerfile'), 'utf8');
      expect(dockerfile).toContain('apps/$APP/dist/main.js');
    });

    it('gives every app an environment that passes its own config schema', () => {
      for (const app of apps) checkAppService(app.name, app.dir, app.defaultPort);
    });

    function checkAppService(name: string, dir: string, defaultPort: number): void {
      const service = services[name];
      const env = environmentOf(service);
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { configSchema } = require(join(dir, 'src', 'config'));
      const parsed = configSchema.safeParse(env);
      expect(parsed.error?.issues ?? []).toEqual([]);
      expect(Number(env.PORT)).toBe(defaultPort);
      expect(env.API_KEYS).toBe(apiKeysSpec());
      for (const dependency of ['kafka-init', 'schema-registry', 'redis']) expect(service.depends_on[dependency]).toBeDefined();
      expect(service.healthcheck?.test).toBeDefined();
    }
  });
});

describe('docker-compose.redis-cluster.yml', () => {
  const override = parse(readFileSync(join(root, 'docker-compose.redis-cluster.yml'), 'utf8'), { merge: true });
  const overrides: Record<string, any> = override.services;
  const nodes = Object.entries(overrides).filter(([name]) => /^redis-node-\d$/.test(name));

  it('runs three cluster-enabled Redis nodes with AOF, and forms one cluster of all three', () => {
    expect(nodes).toHaveLength(3);
    for (const [name, node] of nodes) {
      const command = node.command.join(' ');
      expect(command).toContain('--cluster-enabled yes');
      expect(command).toContain('--appendonly yes');
      expect(node.hostname).toBe(name);
      expect(overrides['redis-cluster-init'].depends_on[name].condition).toBe('service_healthy');
    }
    const init = overrides['redis-cluster-init'].command.join('\n');
    expect(init).toContain('redis-cli --cluster create');
    for (const [name] of nodes) expect(init).toContain(`$$(at ${name})`);
  });

  it('points every app at the cluster with an environment that passes its own config schema', () => {
    for (const app of discoverApps(root)) {
      const merged = { ...environmentOf(services[app.name]), ...environmentOf(overrides[app.name]) };
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { configSchema } = require(join(app.dir, 'src', 'config'));
      const parsed = configSchema.safeParse(merged);
      expect([app.name, parsed.error?.issues ?? []]).toEqual([app.name, []]);
      expect(parsed.data.REDIS_CLUSTER).toBe(true);
      expect(merged.REDIS_URL.split(',')).toEqual(nodes.map(([name]) => `redis://${name}:6379`));
      expect(overrides[app.name].depends_on['redis-cluster-init'].condition).toBe('service_completed_successfully');
    }
  });
});
