import { Kafka, logLevel } from 'kafkajs';
import type { TopicSpec } from '@waybill/contracts';
import { createTopicsAndAwaitLeaders } from '@waybill/platform';

/**
 * Creates each topic that does not exist yet; leaves existing ones alone (a second start finds
 * its data). Returns the topics it created.
 */
export async function ensureTopics(brokers: string[], specs: readonly TopicSpec[]): Promise<string[]> {
  // NOTE: silent: the wait for leaders retries NOT_LEADER answers kafkajs would log as errors; failures still throw.
  const admin = new Kafka({ brokers, clientId: 'waybill-topics', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = specs.filter((spec) => !existing.has(spec.topic));
    if (missing.length) {
      await createTopicsAndAwaitLeaders(
        admin,
        missing.map((spec) => ({ topic: spec.topic, numPartitions: spec.numPartitions, replicationFactor: spec.replicationFactor, configs: spec.configs })),
      );
    }
    return missing.map((spec) => spec.topic);
  } finally {
    await admin.disconnect();
  }
}
