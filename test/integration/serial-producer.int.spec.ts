import { Kafka, logLevel, type Message, type Producer } from 'kafkajs';
import { testEnvironment } from '@waybill/devstack';
import { RenewingProducer, SerialProducer } from '@waybill/platform';
import { KafkaApiKey, kafkaRequestHeader, kafkaSocketFactory, TcpProxy } from '../support/tcp-proxy';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Chaos seed 67030: the broker appended a payment command and died before answering; the
// handler's send failed. Its next send went out with the same sequence numbers, and the broker,
// which knows a batch by producer id and sequence alone, acknowledged it as a duplicate of the
// first without writing it. Here the reply to one produce is held and the connections cut until
// the send gives up, then a different record is sent: it must be on the topic. The front doors send
// through SerialProducer, the registry and dead letters through RenewingProducer.
interface Sender {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(topic: string, message: Message): Promise<void>;
}
const senders: Array<[string, (create: () => Producer) => Sender]> = [
  ['SerialProducer', (create) => new SerialProducer(create)],
  [
    'RenewingProducer',
    (create) => {
      const producer = new RenewingProducer(create);
      return { connect: () => producer.connect(), disconnect: () => producer.disconnect(), send: async (topic, message) => void (await producer.send({ topic, acks: -1, messages: [message] })) };
    },
  ],
];

describe.each(senders)('%s after a send whose fate is unknown', (_name, senderOf) => {
  const env = testEnvironment();
  afterAll(() => env.cleanup());

  it('writes the next record (a new producer id), never acknowledging it as a duplicate of the lost one', async () => {
    const [host, port] = env.brokers[0].split(':');
    const proxy = await TcpProxy.start({ target: { host, port: Number(port) }, frames: true });
    const topic = env.uniqueName('serial-producer');
    await env.createTopics([{ topic }]);
    const kafka = new Kafka({ brokers: [proxy.address], clientId: 'serial-producer-test', socketFactory: kafkaSocketFactory(proxy), logLevel: logLevel.NOTHING, retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 300 } });
    const producer = senderOf(() => kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 300 } }));
    try {
      await producer.connect();
      await producer.send(topic, { key: 'k', value: 'first' });

      // The second record reaches the broker; its answer never comes back, and neither do retries.
      const held = proxy.holdWhen((frame) => kafkaRequestHeader(frame)?.apiKey === KafkaApiKey.Produce);
      const lost = producer.send(topic, { key: 'k', value: 'appended-unanswered' });
      await held;
      await sleep(200);
      proxy.cut({ refuseForMs: 3_000 });
      await expect(lost).rejects.toThrow();
      proxy.resume();
      await sleep(3_200);

      await producer.send(topic, { key: 'k', value: 'after' });

      const consumer = kafka.consumer({ groupId: env.uniqueName('serial-producer-reader') });
      const seen: string[] = [];
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value?.toString() ?? '') });
      const deadline = Date.now() + 15_000;
      while (!seen.includes('after') && Date.now() < deadline) await sleep(100);
      await consumer.disconnect();
      expect(seen).toEqual(['first', 'appended-unanswered', 'after']);
    } finally {
      await producer.disconnect();
      await proxy.close();
    }
  });
});
