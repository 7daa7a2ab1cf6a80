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

const DAY_MS = 24 * 60 * 60 * 1000;
/** Kafka's `retention.ms` for "never delete". */
export const FOREVER = -1;

/**
 * How long each topic keeps its records (`retention.ms`), with `cleanup.policy=delete` on all:
 * none is compacted, because compaction keeps only the last record per key and a shipment's or an
 * account's history is every record. What every read model and state store is rebuilt from is
 * kept for ever (Kafka is the system of record); requests and answers only for as long as a
 * client, an operator or an audit of a day's traffic needs them, since what they decided is on
 * the kept topics. Kafka's own default (7 days) would delete history.
 */
export const TOPIC_RETENTION_MS: Readonly<Record<TopicName, number>> = {
  // Requests: decided within seconds; once decided, the events and outcomes are the record.
  'shipment.commands': 30 * DAY_MS,
  // The reducer's changelog and the ledger's source: every shipment's whole history.
  'shipment.events': FOREVER,
  // Decisions, refusals included: the ledger's alerts are rebuilt from them.
  'shipment.outcomes': FOREVER,
  // A system of record's reports: each becomes an event on shipment.events once recorded.
  'shipment.observations': 30 * DAY_MS,
  'accounting.commands': 30 * DAY_MS,
  // The command listener's changelog, the account-reducer's and the ledger's source.
  'accounting.transactions': FOREVER,
  // Answers for the accounting handler's callers; the bookings are on accounting.transactions.
  'accounting.outcomes': 30 * DAY_MS,
};

/** A dead letter waits for an operator, however long that takes. */
export const DEAD_LETTER_RETENTION_MS = FOREVER;

/**
 * The topics to create, with their dead-letter topics. `prefix` lets tests own a private set on a
 * shared broker.
 */
export function topicSpecs(options: { partitions?: number; replicationFactor?: number; prefix?: string } = {}): TopicSpec[] {
  const { partitions = DEFAULT_PARTITIONS, replicationFactor = 1, prefix = '' } = options;
  const minIsr = String(Math.min(2, replicationFactor));
  return Object.values(TOPICS).flatMap((topic) => [
    { topic: prefix + topic, numPartitions: partitions, replicationFactor, configs: { 'min.insync.replicas': minIsr, 'cleanup.policy': 'delete', 'retention.ms': String(TOPIC_RETENTION_MS[topic]) } },
    { topic: prefix + deadLetterTopic(topic), numPartitions: 1, replicationFactor, configs: { 'min.insync.replicas': minIsr, 'cleanup.policy': 'delete', 'retention.ms': String(DEAD_LETTER_RETENTION_MS) } },
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
