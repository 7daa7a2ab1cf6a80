import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { DecodedRecord, Serde, TopicName } from '@waybill/contracts';
import { committedMessages } from '@waybill/streams';

export type ReadRecord = DecodedRecord & { partition: number; offset: string; key: string };

/**
 * Every committed record of `topic` up to its end offsets at the time of the call, decoded. Judged
 * by transaction markers (committedMessages), not kafkajs's read_committed filter, which can
 * deliver aborted records after a producer crash. Ends when every partition's position has reached
 * the end offset it had when the read began.
 */
export async function readCommitted(kafka: Kafka, serde: Serde, topic: string, logical: TopicName, timeoutMs = 60_000): Promise<ReadRecord[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.high)]));
  await admin.disconnect();
  const positions = new Map<number, bigint>([...ends.keys()].map((p) => [p, 0n]));
  const done = () => [...ends].every(([p, end]) => positions.get(p)! >= end);
  const records: ReadRecord[] = [];
  if (done()) return records;

  const consumer = kafka.consumer({ groupId: `faults-reader-${randomUUID().slice(0, 8)}`, readUncommitted: false, maxBytesPerPartition: 4_194_304 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen = new Set<string>();
  let failure: unknown;
  await consumer.run({
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset }) => {
      try {
        const { messages, complete, resumeAt } = committedMessages(batch);
        for (const message of messages) {
          const id = `${batch.partition}:${message.offset}`;
          if (seen.has(id)) continue;
          seen.add(id);
          const decoded = await serde.decode(message.value, logical);
          records.push({ ...decoded, partition: batch.partition, offset: message.offset, key: message.key?.toString() ?? '' });
        }
        if (complete) {
          resolveOffset(batch.lastOffset());
          const next = BigInt(batch.lastOffset()) + 1n;
          if (next > positions.get(batch.partition)!) positions.set(batch.partition, next);
        } else {
          consumer.seek({ topic: batch.topic, partition: batch.partition, offset: resumeAt ?? batch.firstOffset() ?? '0' });
          await new Promise((r) => setTimeout(r, 100));
        }
      } catch (err) {
        failure = err;
      }
    },
  });
  const deadline = Date.now() + timeoutMs;
  // A transaction's commit marker can be the last offset of a partition, and batches do not
  // always report it: a partition within one offset of its end, or quiet for 5 s, is read through.
  let lastCount = -1;
  let quietSince = Date.now();
  const nearlyDone = () => [...ends].every(([p, end]) => positions.get(p)! >= end - 1n);
  while (!done() && !failure && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    if (records.length !== lastCount) {
      lastCount = records.length;
      quietSince = Date.now();
    }
    const quietFor = Date.now() - quietSince;
    if ((nearlyDone() && quietFor > 1_000) || quietFor > 5_000) break;
  }
  await consumer.disconnect();
  if (failure) throw failure;
  if (Date.now() >= deadline) throw new Error(`reading ${topic}: not at its end offsets after ${timeoutMs} ms`);
  return records;
}
