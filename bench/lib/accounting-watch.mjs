// A read_committed watcher that decides committed records itself with `committedMessages` of
// @waybill/streams (not kafkajs's aborted-transaction filter): every record reported was committed.
import { performance } from 'node:perf_hooks';

/**
 * Watches `topic` from the beginning; `onRecord(message, partition, atMs)` once per committed
 * record (redeliveries of an offset already seen are skipped). Resolves once partitions are assigned.
 */
export async function watchCommitted(kafka, topic, committedMessages, onRecord, { groupId } = {}) {
  const consumer = kafka.consumer({
    groupId: groupId ?? `bench-acc-watch-${topic}-${process.pid}-${Date.now()}`,
    readUncommitted: false,
    sessionTimeout: 30_000,
    maxWaitTimeInMs: 100,
  });
  const next = new Map(); // partition → next offset not yet reported
  let joined;
  const ready = new Promise((resolve) => (joined = resolve));
  consumer.on(consumer.events.GROUP_JOIN, () => joined());
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: 12,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset }) => {
      const at = performance.now();
      const { messages, complete, resumeAt } = committedMessages(batch);
      const from = next.get(batch.partition) ?? -1n;
      for (const message of messages) {
        const offset = BigInt(message.offset);
        if (offset < from) continue;
        next.set(batch.partition, offset + 1n);
        await onRecord(message, batch.partition, at);
      }
      if (complete) resolveOffset(batch.lastOffset());
      else {
        if (messages.length) resolveOffset(messages[messages.length - 1].offset);
        consumer.seek({ topic, partition: batch.partition, offset: resumeAt ?? String(batch.firstOffset()) });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  });
  await ready;
  return {
    async stop() {
      await consumer.disconnect().catch(() => undefined);
    },
  };
}
