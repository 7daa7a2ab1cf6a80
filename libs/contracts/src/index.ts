export { TOPICS, type TopicName, type TopicMap, DEFAULT_PARTITIONS, deadLetterTopic, topicSpecs, TOPIC_RETENTION_MS, DEAD_LETTER_RETENTION_MS, FOREVER, prefixedTopics, type TopicSpec } from './lib/topics';
export * from './generated/types';
export {
  type SchemaVersion,
  type TopicRecordName,
  schemaHistory,
  latestSchema,
  recordFullName,
  recordNameOf,
  subjectFor,
  topicCarries,
} from './lib/catalogue';
export { type Serde, type DecodedRecord, createSerde } from './lib/serde';
export { type SchemaRegistryClient, type KafkajsRegistryOptions, kafkajsRegistryClient } from './lib/registry-client';
export { MAGIC_BYTE, WIRE_HEADER_LENGTH, frame, unframe } from './lib/wire-format';
export { MIN_LONG, MAX_LONG } from './lib/long-range';
export {
  type UndecodableReason,
  UndecodableMessageError,
  InvalidRecordError,
  UnknownRecordError,
  SchemaNotFoundError,
  SchemaRegistryError,
} from './lib/errors';
export { BALANCE_API_SCHEMAS, balanceApiPaths } from './lib/balance-api';
