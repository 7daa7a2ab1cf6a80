import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runKafkaTool, testEnvironment, workspaceRoot } from '@waybill/devstack';
import type { Consumer } from 'kafkajs';
import { runCli, type CliIo } from '../cli';

/**
 * The same reset computed by `waybill offsets` and by Kafka's own ConsumerGroupCommand, on one
 * real broker, must give the same new offset for every partition.
 */
const env = testEnvironment();
const CONSUMER_GROUP_COMMAND = 'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand';
const HOUR = 3_600_000;
const run = promisify(execFile);

afterAll(() => env.cleanup());

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

async function waybill(args: string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: {} };
  const code = await runCli(['offsets', '--bootstrap-server', env.brokers.join(','), ...args], io);
  return { code, stdout, stderr };
}

type Offsets = Record<string, number>;

/** Runs our CLI as a dry run with JSON output and returns `topic:partition → new offset`. */
async function waybillNewOffsets(group: string, scope: string[], spec: string[]): Promise<Offsets> {
  const result = await waybill(['--group', group, ...scope, ...spec, '--dry-run', '--output', 'json']);
  if (result.code !== 0) throw new Error(`waybill exited ${result.code}: ${result.stderr}`);
  const json = JSON.parse(result.stdout) as { executed: boolean; partitions: Array<{ topic: string; partition: number; newOffset: number }> };
  expect(json.executed).toBe(false);
  return Object.fromEntries(json.partitions.map((p) => [`${p.topic}:${p.partition}`, p.newOffset]));
}

/** Runs kafka-consumer-groups --reset-offsets --dry-run and parses its GROUP TOPIC PARTITION NEW-OFFSET table. */
async function kafkaNewOffsets(group: string, scope: string[], spec: string[]): Promise<Offsets> {
  const { stdout } = await runKafkaTool(CONSUMER_GROUP_COMMAND, [
    '--bootstrap-server',
    env.brokers.join(','),
    '--group',
    group,
    ...scope,
    '--reset-offsets',
    ...spec,
    '--dry-run',
  ]);
  const rows = stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols.length === 4 && cols[0] === group && /^\d+$/.test(cols[2]));
  if (rows.length === 0) throw new Error(`no offsets in Kafka's output:\n${stdout}`);
  return Object.fromEntries(rows.map(([, topic, partition, offset]) => [`${topic}:${partition}`, Number(offset)]));
}

/**
 * A topic with 3 partitions whose records are one hour apart, starting 12 h ago:
 * p0 has offsets 0..9 with 0..1 deleted (log start 2), committed at 5;
 * p1 has 0..7, committed at 3; p2 has 0..5, committed at its end (6).
 */
async function fixture(committed: Record<number, number> = { 0: 5, 1: 3, 2: 6 }) {
  const topic = env.uniqueName('cli-offsets');
  const group = env.uniqueName('cli-offsets-group');
  await env.createTopics([{ topic, partitions: 3 }]);
  const base = Date.now() - 12 * HOUR;
  const counts = [10, 8, 6];
  const producer = env.kafka.producer();
  await producer.connect();
  await producer.send({
    topic,
    acks: -1,
    messages: counts.flatMap((count, partition) =>
      Array.from({ length: count }, (_, i) => ({
        partition,
        key: `k${partition}`,
        value: `record ${i}`,
        // A minute per partition keeps every partition's timestamps distinct but the hours aligned.
        timestamp: String(base + i * HOUR + partition * 60_000),
      })),
    ),
  });
  await producer.disconnect();
  const admin = await env.admin();
  // deleteTopicRecords finds leaders in the admin's cached metadata, so load the topic's first.
  await admin.fetchTopicMetadata({ topics: [topic] });
  await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '2' }] });
  const partitions = Object.entries(committed).map(([partition, offset]) => ({ partition: Number(partition), offset: String(offset) }));
  if (partitions.length) await admin.setOffsets({ groupId: group, topic, partitions });
  return { topic, group, base };
}

describe('waybill offsets against Kafka ConsumerGroupCommand', () => {
  let f: Awaited<ReturnType<typeof fixture>>;
  beforeAll(async () => {
    f = await fixture();
  });

  // [name, our flags, Kafka's flags (given the fixture), expected new offsets p0,p1,p2]
  const cases: Array<[string, (base: number) => string[], (base: number) => string[], number[]]> = [
    ['to earliest', () => ['--reset-to-earliest'], () => ['--to-earliest'], [2, 0, 0]],
    ['to latest', () => ['--reset-to-latest'], () => ['--to-latest'], [10, 8, 6]],
    // 7.5 h after the first record: p0 lands on record 8; p1 and p2 have nothing that new → their end.
    [
      'to datetime (no zone = UTC in both tools)',
      (base) => ['--reset-to-datetime', new Date(base + 7.5 * HOUR).toISOString().replace('Z', '')],
      (base) => ['--to-datetime', new Date(base + 7.5 * HOUR).toISOString().replace('Z', '')],
      [8, 8, 6],
    ],
    [
      'to datetime with a zone offset',
      (base) => ['--reset-to-datetime', withPlusOneHour(base + 3.5 * HOUR)],
      (base) => ['--to-datetime', withPlusOneHour(base + 3.5 * HOUR)],
      [4, 4, 4],
    ],
    // now - 5.5 h = 6.5 h after the first record: record 7 on p0 and p1, p2 falls back to its end.
    ['by duration', () => ['--reset-by-duration', 'PT5H30M'], () => ['--by-duration', 'PT5H30M'], [7, 7, 6]],
    ['by duration with days', () => ['--reset-by-duration', 'P1D'], () => ['--by-duration', 'P1D'], [2, 0, 0]],
    ['shift by +2 (p2 clamped to its end)', () => ['--reset-shift-by', '2'], () => ['--shift-by', '2'], [7, 5, 6]],
    ['shift by -4 (p0 clamped to its start, p1 to 0)', () => ['--reset-shift-by', '-4'], () => ['--shift-by', '-4'], [2, 0, 2]],
    ['to offset in range', () => ['--reset-to-offset', '3'], () => ['--to-offset', '3'], [3, 3, 3]],
    ['to offset past the end', () => ['--reset-to-offset', '100'], () => ['--to-offset', '100'], [10, 8, 6]],
    ['to offset before the start', () => ['--reset-to-offset', '0'], () => ['--to-offset', '0'], [2, 0, 0]],
  ];

  it.each(cases)('%s', async (_name, ours, theirs, expected) => {
    const scope = ['--topic', f.topic];
    const [mine, kafka] = await Promise.all([waybillNewOffsets(f.group, scope, ours(f.base)), kafkaNewOffsets(f.group, scope, theirs(f.base))]);
    expect(mine).toEqual(kafka);
    expect(mine).toEqual({ [`${f.topic}:0`]: expected[0], [`${f.topic}:1`]: expected[1], [`${f.topic}:2`]: expected[2] });
  });

  it('limits the reset to the listed partitions (topic:0,2)', async () => {
    const scope = ['--topic', `${f.topic}:0,2`];
    const [mine, kafka] = await Promise.all([
      waybillNewOffsets(f.group, scope, ['--reset-shift-by', '-1']),
      kafkaNewOffsets(f.group, scope, ['--shift-by', '-1']),
    ]);
    expect(mine).toEqual(kafka);
    expect(mine).toEqual({ [`${f.topic}:0`]: 4, [`${f.topic}:2`]: 5 });
  });

  it('--all-topics selects the partitions the group has committed offsets on', async () => {
    const [mine, kafka] = await Promise.all([
      waybillNewOffsets(f.group, ['--all-topics'], ['--reset-to-earliest']),
      kafkaNewOffsets(f.group, ['--all-topics'], ['--to-earliest']),
    ]);
    expect(mine).toEqual(kafka);
  });

  it('prints a table with current and new offsets and the lag change, and says nothing changed', async () => {
    const result = await waybill(['--group', f.group, '--topic', f.topic, '--reset-shift-by', '-2']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/CURRENT-OFFSET/);
    expect(result.stdout).toMatch(/NEW-OFFSET/);
    expect(result.stdout).toMatch(/5 → 7 \(\+2\)/); // p0: lag 10-5 → 10-3
    expect(result.stdout).toContain('dry run: nothing changed; add --execute to apply');
    const committed = await (await env.admin()).fetchOffsets({ groupId: f.group, topics: [f.topic] });
    expect(committed[0].partitions.map((p) => [p.partition, p.offset]).sort()).toEqual([
      [0, '5'],
      [1, '3'],
      [2, '6'],
    ]);
  });
});

describe('partitions without a committed offset', () => {
  it('shift-by is refused by both tools; other specs still compute the same offsets', async () => {
    const { topic, group } = await fixture({ 0: 5 });
    const ours = await waybill(['--group', group, '--topic', topic, '--reset-shift-by', '-1']);
    expect(ours.code).toBe(1);
    expect(ours.stderr).toMatch(new RegExp(`no committed offset \\(${topic}:1, ${topic}:2\\)`));
    const theirs = await runKafkaTool(CONSUMER_GROUP_COMMAND, [
      '--bootstrap-server',
      env.brokers.join(','),
      '--group',
      group,
      '--topic',
      topic,
      '--reset-offsets',
      '--shift-by',
      '-1',
      '--dry-run',
    ]).then(
      (r) => ({ failed: false, output: r.stdout + r.stderr }),
      (err: { stdout?: string; stderr?: string }) => ({ failed: true, output: `${err.stdout ?? ''}${err.stderr ?? ''}` }),
    );
    expect(theirs.output).toMatch(/Cannot shift offset for partition .* since there is no current committed offset/);

    const scope = ['--topic', topic];
    const [mine, kafka] = await Promise.all([
      waybillNewOffsets(group, scope, ['--reset-to-offset', '4']),
      kafkaNewOffsets(group, scope, ['--to-offset', '4']),
    ]);
    expect(mine).toEqual(kafka);
    const json = JSON.parse((await waybill(['--group', group, '--topic', topic, '--reset-to-latest', '--output', 'json'])).stdout);
    expect(json.partitions.map((p: { currentOffset: number | null }) => p.currentOffset)).toEqual([5, null, null]);
  });
});

describe('waybill offsets --execute', () => {
  it("moves the group's committed offsets and says it applied them", async () => {
    const { topic, group } = await fixture();
    const result = await waybill(['--group', group, '--topic', topic, '--reset-to-offset', '4', '--execute', '--output', 'json']);
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json.executed).toBe(true);
    expect(json.message).toBe('applied');
    const committed = await (await env.admin()).fetchOffsets({ groupId: group, topics: [topic] });
    expect(Object.fromEntries(committed[0].partitions.map((p) => [p.partition, p.offset]))).toEqual({ 0: '4', 1: '4', 2: '4' });

    const table = await waybill(['--group', group, '--topic', `${topic}:1`, '--reset-to-earliest', '--execute']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/applied/);
    const after = await (await env.admin()).fetchOffsets({ groupId: group, topics: [topic] });
    expect(Object.fromEntries(after[0].partitions.map((p) => [p.partition, p.offset]))).toEqual({ 0: '4', 1: '0', 2: '4' });
  });
});

describe('refusals and errors', () => {
  let consumer: Consumer | undefined;
  afterEach(async () => {
    await consumer?.disconnect();
    consumer = undefined;
  });

  it('refuses while the group has a live member, naming its client id and host', async () => {
    const { topic, group } = await fixture();
    consumer = env.kafka.consumer({ groupId: group, sessionTimeout: 10_000, heartbeatInterval: 500 });
    const joined = new Promise<void>((resolve) => consumer?.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.connect();
    await consumer.subscribe({ topic });
    await consumer.run({ eachMessage: async () => undefined });
    await joined;

    for (const mode of ['--dry-run', '--execute']) {
      const result = await waybill(['--group', group, '--topic', topic, '--reset-to-earliest', mode]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`group '${group}' is (Stable|PreparingRebalance|CompletingRebalance) with 1 live member`));
      expect(result.stderr).toContain("client id 'waybill-test' on host 127.0.0.1");
      expect(result.stdout).toBe('');
    }
  });

  it('names an unknown topic or partition', async () => {
    const { topic, group } = await fixture();
    const missing = env.uniqueName('no-such-topic');
    const unknownTopic = await waybill(['--group', group, '--topic', missing, '--reset-to-earliest']);
    expect(unknownTopic.code).toBe(1);
    expect(unknownTopic.stderr).toContain(`unknown topic: ${missing}`);
    const unknownPartition = await waybill(['--group', group, '--topic', `${topic}:1,7`, '--reset-to-earliest']);
    expect(unknownPartition.code).toBe(1);
    expect(unknownPartition.stderr).toContain(`unknown partition: ${topic}:7 (it has 3)`);
  });

  it('reports bad arguments as usage errors (exit 2) naming the argument, without touching Kafka', async () => {
    const badDuration = await waybill(['--group', 'g', '--topic', 't', '--reset-by-duration', '1h']);
    expect(badDuration).toMatchObject({ code: 2, stdout: '' });
    expect(badDuration.stderr).toContain('--reset-by-duration');
    const badDate = await waybill(['--group', 'g', '--topic', 't', '--reset-to-datetime', '24/11/2026']);
    expect(badDate.code).toBe(2);
    expect(badDate.stderr).toContain('--reset-to-datetime');
    const noSpec = await waybill(['--group', 'g', '--topic', 't']);
    expect(noSpec.code).toBe(2);
    const twoSpecs = await waybill(['--group', 'g', '--topic', 't', '--reset-to-latest', '--reset-shift-by', '1']);
    expect(twoSpecs.code).toBe(2);
    const help = await waybill(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--reset-by-duration');
  });
});

describe('the built binary', () => {
  const root = workspaceRoot();
  const main = join(root, 'tools', 'cli', 'dist', 'main.js');

  beforeAll(async () => {
    // Always rebuild, so the binary under test is the source under test.
    await run(join(root, 'node_modules', '.bin', 'tsc'), ['-p', join(root, 'tools', 'cli', 'tsconfig.build.json')], { cwd: root });
  });

  it('runs a dry run end to end and exits 0, and exits 2 on a bad argument', async () => {
    expect(existsSync(main)).toBe(true);
    const { topic, group } = await fixture();
    const { stdout } = await run(process.execPath, [main, 'offsets', '--group', group, '--topic', topic, '--reset-to-latest', '--output', 'json'], {
      env: { ...process.env, KAFKA_BROKERS: env.brokers.join(',') },
    });
    expect(JSON.parse(stdout).partitions.map((p: { newOffset: number }) => p.newOffset)).toEqual([10, 8, 6]);
    await expect(run(process.execPath, [main, 'offsets', '--group', group, '--topic', topic, '--reset-by-duration', 'soon'])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--reset-by-duration'),
    });
  });
});

/** `ms` written as local time in a +01:00 zone, with milliseconds, the form Kafka's tool requires. */
function withPlusOneHour(ms: number): string {
  return `${new Date(ms + HOUR).toISOString().replace('Z', '')}+01:00`;
}
