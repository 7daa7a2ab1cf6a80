import { TOPICS, type Observation, type Serde } from '@waybill/contracts';
import type { Kafka, Message } from 'kafkajs';

export interface ProduceOptions {
  /** The physical topic (TOPIC_PREFIX + shipment.observations). */
  topic: string;
  /** Records per sendBatch; one batch in flight at a time, so each shipment's rows keep the file's order. */
  batchSize: number;
  onProgress?: (acknowledged: number, total: number) => void;
}

export interface ProduceResult {
  produced: number;
  /** From the first send to the last acknowledgement. */
  seconds: number;
}

/** Producing stopped part way: `acknowledged` records were written before `cause`. */
export class ProduceFailedError extends Error {
  override readonly name = 'ProduceFailedError';
  constructor(
    readonly acknowledged: number,
    override readonly cause: unknown,
  ) {
    super((cause as Error)?.message ?? String(cause));
  }
}

/** Avro-encodes every observation (Confluent wire format, schema from the registry) keyed by its shipment. */
export async function encodeObservations(serde: Serde, observations: readonly Observation[]): Promise<Message[]> {
  const messages: Message[] = [];
  for (const observation of observations) {
    messages.push({
      key: observation.shipmentId,
      value: await serde.encode(TOPICS.shipmentObservations, 'Observation', observation),
      headers: { 'x-observation-source': observation.source, 'x-reported-by': observation.reportedBy },
    });
  }
  return messages;
}

/**
 * Produces `messages` with an idempotent producer (acks=all; a retried batch is written once) in
 * batches, one at a time: kafkajs keeps a batch's records of one partition in order, and the next
 * batch waits for the previous one's acknowledgement, so the reducer sees each shipment's rows in
 * the file's order.
 */
export async function produceMessages(kafka: Kafka, messages: readonly Message[], options: ProduceOptions): Promise<ProduceResult> {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    // Bounded (kafkajs would retry an idempotent producer for ever): a broker gone for good ends the
    // import with an error, and running it again is safe (the reducer records each fact once).
    retry: { initialRetryTime: 250, maxRetryTime: 10_000, retries: 10 },
  });
  await producer.connect();
  const started = performance.now();
  let produced = 0;
  try {
    for (let i = 0; i < messages.length; i += options.batchSize) {
      const batch = messages.slice(i, i + options.batchSize);
      await producer.send({ topic: options.topic, acks: -1, messages: batch as Message[] });
      produced += batch.length;
      options.onProgress?.(produced, messages.length);
    }
  } catch (error) {
    throw new ProduceFailedError(produced, error);
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
  return { produced, seconds: (performance.now() - started) / 1000 };
}
