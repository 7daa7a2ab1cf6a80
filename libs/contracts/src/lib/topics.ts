/** Every topic of docs/ARCHITECTURE.md §8. Keys are aggregate ids, so per-aggregate order holds. */
export const TOPICS = {
  shipmentCommands: 'shipment.commands',
  shipmentEvents: 'shipment.events',
  shipmentOutcomes: 'shipment.outcomes',
  /** Facts a system of record reports (docs/ARCHITECTURE.md §11); the reducer's intake turns each into a RecordObservation. */
  shipmentObservations: 'shipment.observations',
  accountingCommands: 'accounting.commands',
  accountingTransactions: 'accounting.transactions',
  accountingOutcomes: 'accounting.outcomes',
} as const;

export type TopicName = (typeof TOPICS)[keyof typeof TOPICS];

/** The one setting for domain topics' partition count. Commands and events topics must match (docs/ARCHITECTURE.md §7). */
export const DEFAULT_PARTITIONS = 12;

export const deadLetterTopic = (topic: string): string => `${topic}.dlq`;

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  replicationFactor: number;
  configs: Record<string, string>;
}

/**
 * The topics to create, with their dead-letter topics. `prefix` lets tests own a private set on a
 * shared broker.
 */
export function topicSpecs(options: { partitions?: number; replicationFactor?: number; prefix?: string } = {}): TopicSpec[] {
  const { partitions = DEFAULT_PARTITIONS, replicationFactor = 1, prefix = '' } = options;
  const minIsr = String(Math.min(2, replicationFactor));
  return Object.values(TOPICS).flatMap((topic) => [
    { topic: prefix + topic, numPartitions: partitions, replicationFactor, configs: { 'min.insync.replicas': minIsr } },
    { topic: prefix + deadLetterTopic(topic), numPartitions: 1, replicationFactor, configs: { 'min.insync.replicas': minIsr } },
  ]);
}

export type TopicMap = { [K in keyof typeof TOPICS]: string };

/**
 * The physical topic names under `prefix` (TOPIC_PREFIX). Schemas and subjects keep the logical
 * names; only where records are read and written moves, so tests can run a whole private pipeline
 * on a shared broker.
 */
export function prefixedTopics(prefix: string): TopicMap {
  return Object.fromEntries(Object.entries(TOPICS).map(([key, topic]) => [key, prefix + topic])) as TopicMap;
}
