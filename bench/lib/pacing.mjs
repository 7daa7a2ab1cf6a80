// Open-loop pacing for the latency points: records go out on a fixed schedule whether or not the
// system under test keeps up, so a latency measured from the scheduled time hides no queue
// (no coordinated omission). The reducer's points and the passthrough's peer points share it.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/** When message `i` of a paced run is due (performance.now() clock): latencies are measured from it. */
export const dueAt = (t0, rate, i) => t0 + (i * 1000) / rate;

/**
 * Sends `messages` to `topic` so that message i goes out at `dueAt(t0, rate, i)`: one send at a
 * time, carrying every message that came due meanwhile. `onIssued(n)` reports progress. Resolves
 * when the last message is acknowledged.
 */
export async function sendPaced({ producer, topic, messages, rate, t0, onIssued = () => undefined }) {
  let issued = 0;
  await sleep(Math.max(0, t0 - performance.now()));
  while (issued < messages.length) {
    const due = Math.min(messages.length, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
    if (due > issued) {
      const batch = messages.slice(issued, due);
      issued = due;
      onIssued(issued);
      await producer.send({ topic, acks: -1, messages: batch });
    } else {
      await sleep(Math.max(1, Math.min(5, dueAt(t0, rate, issued) - performance.now())));
    }
  }
}
