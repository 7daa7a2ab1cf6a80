import type { Message, Producer, ProducerBatch, ProducerRecord, RecordMetadata } from 'kafkajs';

/**
 * An idempotent producer that is replaced after any failed send. A failed send may still have
 * been written (the broker appended it and died before answering). kafkajs then sends the next
 * batch with the same sequence numbers, and the broker, which recognises a batch by producer id and
 * sequence alone, acknowledges it as a duplicate of the first without writing it (chaos seed 67030:
 * a payment answered 202 whose record never reached the topic). A new producer has a new producer
 * id and sequences from 0: nothing it sends can be taken for a batch of the old one. Sends are one
 * at a time (an idempotent kafkajs producer must never have two in flight: kafkajs #598, #1005).
 */
export class RenewingProducer {
  private producer?: Producer;
  private tail: Promise<unknown> = Promise.resolve();

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

  send(record: ProducerRecord): Promise<RecordMetadata[]> {
    return this.serially((producer) => producer.send(record));
  }

  sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
    return this.serially((producer) => producer.sendBatch(batch));
  }

  private serially(work: (producer: Producer) => Promise<RecordMetadata[]>): Promise<RecordMetadata[]> {
    const run = this.tail.then(async () => {
      const producer = await this.current();
      try {
        return await work(producer);
      } catch (err) {
        // The failed batch's fate is unknown: its sequence numbers must never be used again.
        if (this.producer === producer) await this.disconnect().catch(() => undefined);
        throw err;
      }
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async current(): Promise<Producer> {
    if (!this.producer) {
      const producer = this.createProducer();
      await producer.connect();
      this.producer = producer;
    }
    return this.producer;
  }
}

interface Pending {
  topic: string;
  message: Message;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * HTTP requests arrive concurrently, and an idempotent producer sends one batch at a time
 * (`RenewingProducer`, which also replaces the producer after a failed send). This queue sends one
 * `sendBatch` at a time, carrying everything that arrived meanwhile: serial for correctness,
 * batched for throughput.
 */
export class SerialProducer {
  private queue: Pending[] = [];
  private flushing = false;
  private readonly producer: RenewingProducer;

  constructor(createProducer: () => Producer) {
    this.producer = new RenewingProducer(createProducer);
  }

  /** Connects the first producer, so configuration and broker problems show at start. */
  connect(): Promise<void> {
    return this.producer.connect();
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }

  send(topic: string, message: Message): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ topic, message, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.queue.length) {
      const batch = this.queue;
      this.queue = [];
      const byTopic = new Map<string, Message[]>();
      for (const p of batch) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.message]);
      try {
        await this.producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
        batch.forEach((p) => p.resolve());
      } catch (err) {
        batch.forEach((p) => p.reject(err));
      }
    }
    this.flushing = false;
  }
}
