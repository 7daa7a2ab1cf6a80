import { DEAD_LETTER_RETENTION_MS, FOREVER, TOPICS, TOPIC_RETENTION_MS, deadLetterTopic, topicSpecs } from './topics';

describe('topicSpecs retention', () => {
  const specs = new Map(topicSpecs({ replicationFactor: 3 }).map((s) => [s.topic, s]));

  it('keeps for ever every topic a state store or read model is rebuilt from, and deletes rather than compacts everywhere', () => {
    for (const topic of [TOPICS.shipmentEvents, TOPICS.shipmentOutcomes, TOPICS.accountingTransactions]) {
      expect(specs.get(topic)?.configs['retention.ms']).toBe(String(FOREVER));
    }
    for (const spec of specs.values()) expect(spec.configs['cleanup.policy']).toBe('delete');
  });

  it('gives every topic and its dead-letter topic a retention of its own', () => {
    for (const topic of Object.values(TOPICS)) {
      expect(specs.get(topic)?.configs['retention.ms']).toBe(String(TOPIC_RETENTION_MS[topic]));
      expect(specs.get(deadLetterTopic(topic))?.configs['retention.ms']).toBe(String(DEAD_LETTER_RETENTION_MS));
    }
    expect(Number(specs.get(TOPICS.shipmentCommands)?.configs['retention.ms'])).toBeGreaterThanOrEqual(7 * 24 * 3_600_000);
  });
});
