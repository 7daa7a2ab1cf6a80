export { TOPICS, type TopicName, DEFAULT_PARTITIONS, deadLetterTopic, topicSpecs, type TopicSpec } from './lib/topics';
