import type { Message, Producer } from 'kafkajs';

interface Pending {
  topic: string;
  message: Message;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * An idempotent kafkajs producer must never have two sends in flight (kafkajs #598, #1005:
 * out-of-order sequence numbers, lost messages), yet HTTP requests arrive concurrently. This queue
 * sends one `sendBatch` at a time, carrying everything that arrived meanwhile: serial for
 * correctness, batched for throughput.
 *
 * A failed send may still have been written (the broker appended it and died before answering).
 * kafkajs then sends the next batch with the same sequence numbers, and the broker, which
 * recognises a batch by producer id and sequence alone, acknowledges it as a duplicate of the
 * first without writing it (chaos seed 67030: a payment answered 202 whose record never reached
 * the topic). So after a failed send the next batch goes out on a new producer: a new producer id,
 * sequences from 0, nothing it sends can be taken for a batch of the old one.
 */
export class SerialProducer {
  private queue: Pending[] = [];
  private flushing = false;
  private producer?: Producer;

  constructor(private readonly createProducer: () => Producer) {}

  /** Connects the first producer, so configuration and broker problems show at start. */
  async connect(): Promise<void> {
    await this.current();
  }

  async disconnect(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    await producer?.disconnect();
  }

  send(topic: string, message: Message): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ topic, message, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async current(): Promise<Producer> {
    if (!this.producer) {
      const producer = this.createProducer();
      await producer.connect();
      this.producer = producer;
    }
    return this.producer;
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.queue.length) {
      const batch = this.queue;
      this.queue = [];
      const byTopic = new Map<string, Message[]>();
      for (const p of batch) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.message]);
      try {
        const producer = await this.current();
        await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
        batch.forEach((p) => p.resolve());
      } catch (err) {
        batch.forEach((p) => p.reject(err));
        // The failed batch's fate is unknown: its sequence numbers must never be used again.
        await this.disconnect().catch(() => undefined);
      }
    }
    this.flushing = false;
  }
}
