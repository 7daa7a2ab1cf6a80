import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Consumer } from 'kafkajs';
import { createSerde, kafkajsRegistryClient, prefixedTopics, topicSpecs, type DecodedRecord, type TopicMap, type TopicName } from '@waybill/contracts';
import { apiKeysSpec, appUrlVariable, DEMO_KEYS, startAppProcess, testEnvironment, type RedisKind, type RunningApp, type TestEnvironment } from '@waybill/devstack';
import { committedMessages } from '@waybill/streams';

export const root = join(__dirname, '..', '..');
export const key = (role: string) => DEMO_KEYS.find((k) => k.role === role)!.key;

/**
 * A private Waybill pipeline on the shared test broker: its own topic prefix, consumer groups,
 * transactional ids and Redis keys, so test files run in parallel without meeting.
 */
export interface Pipeline {
  env: TestEnvironment;
  prefix: string;
  topics: TopicMap;
  appEnv: Record<string, string>;
  logsDir: string;
  serde: ReturnType<typeof createSerde>;
  start(app: string, extraEnv?: Record<string, string>): Promise<RunningApp & { port: number }>;
  /** Every record of a topic so far (read_committed), decoded. */
  readTopic(topic: keyof TopicMap, expectAtLeast?: number, timeoutMs?: number): Promise<Array<DecodedRecord & { partition: number; offset: string }>>;
  close(): Promise<void>;
}

export async function pipeline(name: string, overrides: { redisUrl?: string; redisKind?: RedisKind } = {}): Promise<Pipeline> {
  const env = testEnvironment();
  const prefix = `${env.uniqueName(name)}.`;
  const topics = prefixedTopics(prefix);
  await env.createTopics(topicSpecs({ prefix, partitions: 4 }).map((s) => ({ topic: s.topic, partitions: s.numPartitions })));
  const logsDir = mkdtempSync(join(tmpdir(), `waybill-${name}-`));
  const apps: RunningApp[] = [];
  const firstOf = new Map<string, RunningApp & { port: number }>();
  const consumers: Consumer[] = [];
  const serde = createSerde({ registry: kafkajsRegistryClient(env.schemaRegistryUrl) });
  const appEnv: Record<string, string> = {
    KAFKA_BROKERS: env.brokers.join(','),
    ...env.redisEnvOf(overrides.redisKind ?? 'single'),
    ...(overrides.redisUrl ? { REDIS_URL: overrides.redisUrl } : {}),
    SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
    API_KEYS: apiKeysSpec(),
    TOPIC_PREFIX: prefix,
  };
  return {
    env,
    prefix,
    topics,
    appEnv,
    logsDir,
    serde,
    async start(app, extraEnv = {}) {
      // As `npm start` does, an app that calls another finds it as <NAME>_URL: the first instance
      // started under that name. Started again after it exited, it gets the same port back, so
      // those URLs survive a kill and restart.
      const first = firstOf.get(app);
      const port = first && first.service.hasExited ? first.port : undefined;
      const running = await startAppProcess(app, { ...appEnv, ...extraEnv }, { root, logsDir, port });
      apps.push(running);
      if (!first || port !== undefined) firstOf.set(app, running);
      appEnv[appUrlVariable(app)] ??= running.url;
      return running;
    },
    async readTopic(topic, expectAtLeast = 1, timeoutMs = 20_000) {
      const consumer = env.kafka.consumer({ groupId: env.uniqueName('reader'), readUncommitted: false });
      consumers.push(consumer);
      const records: Array<DecodedRecord & { partition: number; offset: string }> = [];
      await consumer.connect();
      await consumer.subscribe({ topic: topics[topic], fromBeginning: true });
      const seen = new Set<string>();
      const logical = topics[topic].slice(prefix.length) as TopicName;
      await consumer.run({
        // NOTE: judged by transaction markers (committedMessages), not kafkajs's read_committed
        // filter, which can deliver aborted records after a reducer crash.
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset }) => {
          const { messages, complete, resumeAt } = committedMessages(batch);
          for (const message of messages) {
            const id = `${batch.partition}:${message.offset}`;
            if (seen.has(id)) continue;
            seen.add(id);
            records.push({ ...(await serde.decode(message.value, logical)), partition: batch.partition, offset: message.offset });
          }
          if (complete) resolveOffset(batch.lastOffset());
          else {
            consumer.seek({ topic: batch.topic, partition: batch.partition, offset: resumeAt ?? batch.firstOffset() ?? '0' });
            await new Promise((r) => setTimeout(r, 100));
          }
        },
      });
      const deadline = Date.now() + timeoutMs;
      while (records.length < expectAtLeast && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      // Let stragglers of the same moment arrive, so "exactly n" assertions are honest.
      await new Promise((r) => setTimeout(r, 500));
      await consumer.disconnect();
      return records;
    },
    async close() {
      await Promise.allSettled(apps.map((a) => a.service.stop(10_000)));
      await Promise.allSettled(consumers.map((c) => c.disconnect()));
      await env.cleanup();
    },
  };
}

export async function call(
  app: { url: string },
  method: string,
  path: string,
  options: { role?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${app.url}${path}`, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(options.role ? { 'x-api-key': key(options.role) } : {}),
      ...options.headers,
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

export const newShipment = (shipmentId: string) => ({
  shipmentId,
  orderId: `ORD-${shipmentId}`,
  customerAccountId: 'ACC-42',
  currency: 'EUR',
  lines: [
    { sku: 'SKU-A', quantity: 2, unitPriceMinor: 1250 },
    { sku: 'SKU-B', quantity: 1, unitPriceMinor: 4999 },
  ],
  destination: { name: 'Ada Lovelace', street: 'Main 1', city: 'Utrecht', postalCode: '3511 AA', country: 'NL' },
});
