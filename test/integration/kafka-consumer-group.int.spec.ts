import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { runKafkaTool, testEnvironment } from '@waybill/devstack';

const PARTITIONS = 12;
const PER_PHASE = 1200;

interface MemberEvent {
  member: string;
  e: 'joined' | 'processed' | 'committed';
  p: number;
  o: number;
  v: string;
}

function startMember(brokers: string, topic: string, groupId: string, name: string, events: MemberEvent[]): ChildProcess {
  const child = spawn(process.execPath, [join(__dirname, '..', 'fixtures', 'group-member.js'), brokers, topic, groupId, name], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  createInterface({ input: child.stdout! }).on('line', (line) => events.push(JSON.parse(line)));
  return child;
}

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('Kafka from the cached jars, driven by kafkajs and by Kafka\'s own tools', () => {
  const env = testEnvironment();
  const topic = env.uniqueName('group-test');
  const groupId = env.uniqueName('group');
  const members: ChildProcess[] = [];
  const events: MemberEvent[] = [];

  beforeAll(() => env.createTopics([{ topic, partitions: PARTITIONS }]));
  afterAll(async () => {
    for (const m of members) m.kill('SIGKILL');
    await env.cleanup();
  });

  async function produce(phase: number): Promise<void> {
    const producer = env.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const messages = Array.from({ length: PER_PHASE }, (_, i) => ({ key: `key-${i % 97}`, value: `${phase}-${i}` }));
    for (let i = 0; i < messages.length; i += 100) await producer.send({ topic, messages: messages.slice(i, i + 100) });
    await producer.disconnect();
  }

  it('a group of three over 12 partitions consumes every message once per committed offset, even when a member is SIGKILLed', async () => {
    for (const name of ['a', 'b', 'c']) members.push(startMember(env.brokers.join(','), topic, groupId, name, events));
    // All three in the group before anything arrives: a member that starts late on a busy
    // machine would otherwise find the first phase already consumed by the others.
    await waitFor('all three members to join', () => ['a', 'b', 'c'].every((m) => events.some((e) => e.member === m && e.e === 'joined')));
    await produce(1);
    await waitFor('member b to process 50 messages', () => events.filter((e) => e.member === 'b' && e.e === 'processed').length >= 50);
    members[1].kill('SIGKILL');
    await new Promise((resolve) => members[1].once('exit', resolve));
    const killedAt = events.length;
    await produce(2);

    const admin = await env.admin();
    const ends = await admin.fetchTopicOffsets(topic);
    const total = ends.reduce((sum, p) => sum + Number(p.high), 0);
    expect(total).toBe(2 * PER_PHASE);
    const distinctProcessed = () => new Set(events.filter((e) => e.e === 'processed').map((e) => `${e.p}:${e.o}`)).size;
    await waitFor('every message to be processed', () => distinctProcessed() === total, 90_000);

    // What b committed before it died is never redone; only what it had not committed may be.
    const committedByB = new Map<number, number>();
    for (const e of events.slice(0, killedAt)) {
      if (e.member === 'b' && e.e === 'committed') committedByB.set(e.p, Math.max(committedByB.get(e.p) ?? 0, e.o));
    }
    const seen = new Map<string, MemberEvent[]>();
    for (const e of events.filter((e) => e.e === 'processed')) seen.set(`${e.p}:${e.o}`, [...(seen.get(`${e.p}:${e.o}`) ?? []), e]);
    for (const [, copies] of seen) {
      if (copies.length === 1) continue;
      const survivors = copies.filter((c) => c.member !== 'b');
      expect(survivors).toHaveLength(1);
      expect(copies[0].o).toBeGreaterThanOrEqual(committedByB.get(copies[0].p) ?? 0);
    }
    expect(events.some((e) => e.member === 'b' && e.e === 'processed')).toBe(true);
    expect(events.filter((e) => e.member !== 'b' && e.e === 'processed').some((e) => e.v.startsWith('2-'))).toBe(true);

    // NOTE: a member prints 'processed' before its commit lands, so poll the group's offsets.
    const endOf = (partition: number) => ends.find((e) => e.partition === partition)?.high;
    let committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    const allCommitted = () => committed[0].partitions.every((p) => p.offset === endOf(p.partition));
    for (let i = 0; i < 50 && !allCommitted(); i++) {
      await new Promise((r) => setTimeout(r, 200));
      committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    }
    expect(committed[0].partitions.map((p) => [p.partition, p.offset])).toEqual(
      committed[0].partitions.map((p) => [p.partition, endOf(p.partition)]),
    );

    // Kafka's own console consumer, from the same cached jars, reads exactly what kafkajs wrote.
    const { stdout } = await runKafkaTool('org.apache.kafka.tools.consumer.ConsoleConsumer', [
      '--bootstrap-server', env.brokers[0],
      '--topic', topic,
      '--from-beginning',
      '--max-messages', String(total),
      '--timeout-ms', '30000',
      '--formatter-property', 'print.key=true',
      '--formatter-property', 'print.partition=true',
      '--formatter-property', 'key.separator=|',
    ]);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(total);
    const values = new Set(lines.map((line) => line.split('|').pop()));
    expect(values.size).toBe(total);
    for (const phase of [1, 2]) for (let i = 0; i < PER_PHASE; i += 199) expect(values.has(`${phase}-${i}`)).toBe(true);
    expect(lines[0]).toMatch(/^Partition:\d+\|key-\d+\|\d-\d+$/);
  });
});
