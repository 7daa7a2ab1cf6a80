// Test helpers for the streams integration tests: produce commands, collect a topic with a
// read_committed consumer, and check the exactly-once invariants of the counter fixture.
import { Writable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type Redis from 'ioredis';
import pino from 'pino';
import { committedMessages, storeKeys, toInputRecord, type InputRecord } from '../src';
import type { CounterState } from './counter';

export interface CommandSpec {
  key: string;
  value: string;
  cmdId?: string;
  op?: 'inc' | 'reject';
}

export function makeCommands(count: number, keys: number, tag: string): CommandSpec[] {
  return Array.from({ length: count }, (_, i) => {
    const cmdId = `${tag}-${i}`;
    const op = i % 7 === 3 ? 'reject' : 'inc';
    return { key: `k${i % keys}`, cmdId, op, value: JSON.stringify({ cmdId, op }) };
  });
}

export async function produce(kafka: Kafka, topic: string, commands: CommandSpec[]): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    for (let i = 0; i < commands.length; i += 200) {
      await producer.send({ topic, acks: -1, messages: commands.slice(i, i + 200).map((c) => ({ key: c.key, value: c.value })) });
    }
  } finally {
    await producer.disconnect();
  }
}

export interface Collector {
  records: InputRecord[];
  waitFor(predicate: (records: InputRecord[]) => boolean, timeoutMs: number, what: string): Promise<void>;
  stop(): Promise<void>;
}

/** Reads `topic` from the beginning, read_committed, until stopped. */
export async function collect(kafka: Kafka, topic: string): Promise<Collector> {
  const groupId = `collector-${randomUUID().slice(0, 8)}`;
  const consumer = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 200 });
  const records: InputRecord[] = [];
  // A consumer restart re-delivers what it had not committed yet: the same record twice is not a
  // duplicate in the topic, so the collector keeps each (partition, offset) once.
  const seen = new Set<string>();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    // NOTE: kafkajs's own read_committed filter can deliver aborted records when several
    // producers' aborted transactions overlap on a partition (see committedMessages); the
    // collector judges records by their markers instead, like a Java consumer would.
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset }) => {
      const { messages, complete, resumeAt } = committedMessages(batch);
      for (const message of messages) {
        const id = `${batch.partition}:${message.offset}`;
        if (seen.has(id)) continue;
        seen.add(id);
        records.push(toInputRecord(batch.topic, batch.partition, message));
      }
      if (complete) resolveOffset(batch.lastOffset());
      else {
        consumer.seek({ topic: batch.topic, partition: batch.partition, offset: resumeAt ?? batch.firstOffset() ?? '0' });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
  });
  return {
    records,
    async waitFor(predicate, timeoutMs, what) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(records)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} on ${topic} (have ${records.length} records)`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async stop() {
      await consumer.disconnect();
    },
  };
}

export function json<T>(record: InputRecord): T {
  return JSON.parse(record.value?.toString() ?? 'null') as T;
}

/** Asserts exactly once: one outcome per command, and per key event versions 1..n with n = accepted commands. */
export function checkInvariants(commands: CommandSpec[], outcomes: InputRecord[], events: InputRecord[]): Map<string, number> {
  const outcomeCount = new Map<string, number>();
  const outcomeAt = new Map<string, string[]>();
  for (const record of outcomes) {
    const { cmdId } = json<{ cmdId: string }>(record);
    outcomeCount.set(cmdId, (outcomeCount.get(cmdId) ?? 0) + 1);
    outcomeAt.set(cmdId, [...(outcomeAt.get(cmdId) ?? []), `${record.partition}@${record.offset}`]);
  }
  const problems: string[] = [];
  for (const command of commands) {
    if (!command.cmdId) continue;
    const seen = outcomeCount.get(command.cmdId) ?? 0;
    if (seen !== 1) problems.push(`${command.cmdId}: ${seen} outcomes ${(outcomeAt.get(command.cmdId) ?? []).join(' ')}`);
  }
  if (outcomeCount.size !== commands.filter((c) => c.cmdId).length) problems.push(`outcomes for ${outcomeCount.size} distinct commands`);

  const expected = new Map<string, number>();
  for (const command of commands) if (command.op === 'inc') expected.set(command.key, (expected.get(command.key) ?? 0) + 1);
  const versions = new Map<string, number[]>();
  const ordered = [...events].sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
  for (const record of ordered) {
    const list = versions.get(record.key) ?? [];
    list.push(json<{ version: number }>(record).version);
    versions.set(record.key, list);
  }
  for (const [key, n] of expected) {
    const list = versions.get(key) ?? [];
    const wanted = Array.from({ length: n }, (_, i) => i + 1);
    if (list.join(',') !== wanted.join(',')) problems.push(`${key}: versions ${list.join(',')} (want 1..${n})`);
  }
  if (problems.length) throw new Error(`exactly-once violated:\n${problems.slice(0, 20).join('\n')}`);
  return expected;
}

export async function storedStates(redis: Redis, prefix: string, partitions: number): Promise<Map<string, CounterState>> {
  const states = new Map<string, CounterState>();
  for (let p = 0; p < partitions; p += 1) {
    const hash = await redis.hgetall(storeKeys(prefix, 'counter', p).state);
    for (const [key, text] of Object.entries(hash)) states.set(key, JSON.parse(text) as CounterState);
  }
  return states;
}

export async function deleteStoreKeys(redis: Redis, prefix: string): Promise<number> {
  const keys = await redis.keys(`{${prefix}:*`);
  return keys.length ? redis.del(...keys) : 0;
}

/** A pino logger that keeps every line, so tests can look for what the runner reported. */
export function capturingLogger(level = 'info'): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level }, stream), lines };
}
