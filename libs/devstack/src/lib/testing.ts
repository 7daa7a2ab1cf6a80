import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import Redis, { Cluster } from 'ioredis';
import { createTopicsAndAwaitLeaders } from '@waybill/platform';

/**
 * What an integration test needs from the shared broker and Redis that the jest global setup
 * started (test/setup/global-setup.js). Each test names its own topics and groups with
 * `uniqueName`, so test files run in parallel without seeing each other's messages.
 */
export interface TestEnvironment {
  brokers: string[];
  redisUrl: string;
  /** The schema registry the global setup started (its state in the broker's `_schemas`). */
  schemaRegistryUrl: string;
  kafka: Kafka;
  /** A name no other test uses: `orders` → `orders-3f9c1a2b`. */
  uniqueName(prefix: string): string;
  createTopics(topics: Array<{ topic: string; partitions?: number; configs?: Record<string, string> }>): Promise<void>;
  admin(): Promise<Admin>;
  redis(): Redis;
  /** A client of the shared three-master Redis Cluster (keys are shared too: prefix them with `uniqueName`). */
  redisCluster(): Cluster;
  /** A client of the single Redis or of the Redis Cluster: what a test that runs on both takes. */
  redisOf(kind: RedisKind): Redis | Cluster;
  /** The environment an app needs to use that Redis (REDIS_URL, and REDIS_CLUSTER for the cluster). */
  redisEnvOf(kind: RedisKind): { REDIS_URL: string; REDIS_CLUSTER: 'true' | 'false' };
  /** Deletes what this environment created and closes its clients. */
  cleanup(): Promise<void>;
}

/** The Redis deployments every Redis user is tested on. */
export const REDIS_KINDS = ['single', 'cluster'] as const;
export type RedisKind = (typeof REDIS_KINDS)[number];

function clusterUrls(): string {
  const urls = process.env.WAYBILL_TEST_REDIS_CLUSTER_URLS;
  if (!urls) throw new Error('WAYBILL_TEST_REDIS_CLUSTER_URLS is unset: run integration tests through jest (npm test)');
  return urls;
}

export function testEnvironment(): TestEnvironment {
  const brokersVar = process.env.WAYBILL_TEST_KAFKA_BROKERS;
  const redisUrl = process.env.WAYBILL_TEST_REDIS_URL;
  if (!brokersVar || !redisUrl) {
    throw new Error('WAYBILL_TEST_KAFKA_BROKERS / WAYBILL_TEST_REDIS_URL are unset: run integration tests through jest (npm test)');
  }
  const brokers = brokersVar.split(',');
  const kafka = new Kafka({ brokers, clientId: 'waybill-test', logLevel: logLevel.ERROR });
  const createdTopics: string[] = [];
  const redisClients: Array<Redis | Cluster> = [];
  let sharedAdmin: Admin | undefined;
  const admin = async () => {
    if (!sharedAdmin) {
      sharedAdmin = kafka.admin();
      await sharedAdmin.connect();
    }
    return sharedAdmin;
  };
  return {
    brokers,
    redisUrl,
    schemaRegistryUrl: process.env.WAYBILL_TEST_SCHEMA_REGISTRY_URL ?? '',
    kafka,
    uniqueName: (prefix) => `${prefix}-${randomUUID().slice(0, 8)}`,
    async createTopics(topics) {
      const client = await admin();
      await createTopicsAndAwaitLeaders(
        client,
        topics.map(({ topic, partitions = 1, configs = {} }) => ({ topic, numPartitions: partitions, replicationFactor: 1, configs })),
      );
      createdTopics.push(...topics.map((t) => t.topic));
    },
    admin,
    redis() {
      const client = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
      redisClients.push(client);
      return client;
    },
    redisCluster() {
      const nodes = clusterUrls()
        .split(',')
        .map((url) => new URL(url)).map(({ hostname, port }) => ({ host: hostname, port: Number(port) }));
      const client = new Cluster(nodes, { redisOptions: { maxRetriesPerRequest: 3 } });
      redisClients.push(client);
      return client;
    },
    redisOf(kind) {
      return kind === 'cluster' ? this.redisCluster() : this.redis();
    },
    redisEnvOf(kind) {
      return kind === 'cluster' ? { REDIS_URL: clusterUrls(), REDIS_CLUSTER: 'true' } : { REDIS_URL: redisUrl, REDIS_CLUSTER: 'false' };
    },
    async cleanup() {
      if (createdTopics.length) await (await admin()).deleteTopics({ topics: createdTopics }).catch(() => undefined);
      await sharedAdmin?.disconnect();
      await Promise.all(redisClients.map((c) => c.quit().catch(() => undefined)));
    },
  };
}
