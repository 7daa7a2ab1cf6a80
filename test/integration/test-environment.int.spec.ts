import { testEnvironment } from '@waybill/devstack';

describe('the shared test broker and Redis', () => {
  const env = testEnvironment();
  afterAll(() => env.cleanup());

  it('round-trips a message through a private topic and a value through Redis', async () => {
    const topic = env.uniqueName('roundtrip');
    await env.createTopics([{ topic }]);
    const producer = env.kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'k', value: 'hello' }] });
    await producer.disconnect();
    const offsets = await (await env.admin()).fetchTopicOffsets(topic);
    expect(offsets[0].high).toBe('1');

    const redis = env.redis();
    await redis.set(`${topic}:key`, 'v');
    expect(await redis.get(`${topic}:key`)).toBe('v');
    await redis.del(`${topic}:key`);
  });
});
