// Starts one Kafka broker, one Redis, a three-master Redis Cluster and one schema registry for the
// whole integration run, on free ports in a temporary folder. Tests find them through WAYBILL_TEST_* variables and create their own topics
// and group ids, so files can run in parallel on the shared pair.
const { mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

module.exports = async function globalSetup() {
  const devstack = require('../../libs/devstack/dist');
  const dir = mkdtempSync(join(tmpdir(), 'waybill-test-'));
  const progress = devstack.terminalProgress(process.stderr);
  const kafka = await devstack.startKafka(
    { dataDir: join(dir, 'kafka'), brokerPort: await devstack.freePort(), controllerPort: await devstack.freePort(), heapMb: 768 },
    progress,
  );
  const redis = await devstack.startRedis({ dataDir: join(dir, 'redis'), port: await devstack.freePort() }, progress);
  const redisCluster = await devstack.startRedisCluster(
    { dataDir: join(dir, 'redis-cluster'), ports: [await devstack.freePort(), await devstack.freePort(), await devstack.freePort()] },
    progress,
  );
  const registry = await devstack.startSchemaRegistry(
    { port: await devstack.freePort(), brokers: kafka.brokers, logsDir: join(dir, 'logs') },
    progress,
  );
  globalThis.__WAYBILL_TEST_STACK__ = { kafka, redis, redisCluster, registry, dir };
  process.env.WAYBILL_TEST_DIR = dir;
  process.env.WAYBILL_TEST_KAFKA_BROKERS = kafka.bootstrap;
  process.env.WAYBILL_TEST_REDIS_URL = redis.url;
  process.env.WAYBILL_TEST_REDIS_CLUSTER_URLS = redisCluster.urls;
  process.env.WAYBILL_TEST_SCHEMA_REGISTRY_URL = registry.url;
};
