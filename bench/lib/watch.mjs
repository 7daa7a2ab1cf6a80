// Watches an output topic from outside the system under test: a read_committed consumer group of
// its own that stamps each record with the time it became visible. Every throughput and latency
// figure is taken this way, so the reducer and the passthrough peers are measured alike.
import { performance } from 'node:perf_hooks';

/**
 * Starts a watcher on `topic` (from the beginning). `onRecord(message, partition, atMs)` is called
 * for each committed record; `ready` resolves once the group has assigned it every partition.
 */
export async function watchTopic(kafka, topic, onRecord, { groupId } = {}) {
  const consumer = kafka.consumer({
    groupId: groupId ?? `bench-watch-${topic}-${process.pid}-${Date.now()}`,
    readUncommitted: false,
    sessionTimeout: 30_000,
    maxWaitTimeInMs: 100,
  });
  let joined;
  const ready = new Promise((resolve) => (joined = resolve));
  consumer.on(consumer.events.GROUP_JOIN, () => joined());
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: 12,
    eachBatch: async ({ batch }) => {
      const at = performance.now();
      for (const message of batch.messages) await onRecord(message, batch.partition, at);
    },
  });
  await ready;
  return {
    async stop() {
      await consumer.disconnect().catch(() => undefined);
    },
  };
}

/** Resolves when `done()` is true, rejects after `timeoutMs` or when `failed()` returns a reason. */
export function waitFor(done, { timeoutMs, what, failed = () => undefined, intervalMs = 20 }) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      const reason = failed();
      if (done()) {
        clearInterval(timer);
        resolve();
      } else if (reason) {
        clearInterval(timer);
        reject(new Error(`${what}: ${reason}`));
      } else if (Date.now() - started > timeoutMs) {
        clearInterval(timer);
        reject(new Error(`${what}: not done after ${Math.round(timeoutMs / 1000)} s`));
      }
    }, intervalMs);
  });
}
