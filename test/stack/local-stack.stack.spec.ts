import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AssignerProtocol, Kafka, logLevel } from 'kafkajs';
import Redis from 'ioredis';
import { TOPICS, deadLetterTopic } from '@waybill/contracts';

const MARKER_TOPIC = deadLetterTopic(TOPICS.shipmentEvents);

const root = join(__dirname, '..', '..');

interface RunningStack {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** `npm start` exactly as a person runs it, in its own process group like a terminal job. */
async function npmStart(dataDir: string, extraArgs: string[] = []): Promise<RunningStack> {
  const child = spawn('npm', ['start', '--', '--free-ports', '--data-dir', dataDir, ...extraArgs], {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  let output = '';
  child.stdout!.on('data', (c) => (output += c));
  child.stderr!.on('data', (c) => (output += c));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 180_000;
  while (!output.includes('Press Ctrl-C to stop')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`npm start did not come up:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, output: () => output, exited };
}

/** Ctrl-C in a terminal signals the whole foreground process group. */
async function ctrlC(stack: RunningStack): Promise<number> {
  const started = Date.now();
  process.kill(-stack.child.pid!, 'SIGINT');
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([stack.exited, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 15_000)))]);
  clearTimeout(timer);
  if (code === 'timeout') throw new Error(`still running 15 s after Ctrl-C:\n${stack.output()}`);
  return Date.now() - started;
}

/** The processes of the stack's process group: npm, the start script, Kafka, Redis, the registry and every app. */
function groupMembers(pgid: number): Array<{ pid: number; args: string }> {
  return execFileSync('ps', ['-eo', 'pid,pgid,args'], { encoding: 'utf8' })
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((parts) => Number(parts[1]) === pgid)
    .map(([pid, , ...args]) => ({ pid: Number(pid), args: args.join(' ') }));
}

async function until<T>(what: string, read: () => T | undefined, timeoutMs: number, output: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms:\n${output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function survivors(marker: string): string[] {
  return execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(marker) && !line.includes('ps -eo'));
}

describe('npm start', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'waybill-stack-'));
  afterAll(() => {
    for (const line of survivors(dataDir)) process.kill(Number(line.trim().split(/\s+/)[0]), 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('brings the stack up, prints the table, stops on Ctrl-C leaving no process behind, and keeps its data', async () => {
    const first = await npmStart(dataDir);
    const table = first.output();
    const kafkaUrl = /kafka:\/\/(127\.0\.0\.1:\d+)/.exec(table)?.[1];
    const redisUrl = /(redis:\/\/127\.0\.0\.1:\d+)/.exec(table)?.[1];
    expect(kafkaUrl).toBeDefined();
    expect(redisUrl).toBeDefined();
    for (const role of ['viewer', 'associate', 'team-lead', 'supervisor', 'finance']) expect(table).toContain(role);
    // Every app row's /healthz answers 200.
    for (const [, url] of table.matchAll(/(http:\/\/127\.0\.0\.1:\d+)/g)) {
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    }

    const kafka = new Kafka({ brokers: [kafkaUrl!], clientId: 'stack-e2e', logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const topics = await admin.fetchTopicMetadata({ topics: Object.values(TOPICS) });
    for (const t of topics.topics) expect(t.partitions).toHaveLength(12);
    const producer = kafka.producer();
    await producer.connect();
    // On a topic no app reads: garbage on shipment.events would be dead-lettered, rightly, at error level.
    await producer.send({ topic: MARKER_TOPIC, messages: [{ key: 'survives-restart', value: 'x' }] });
    await producer.disconnect();
    await admin.disconnect();
    const redis = new Redis(redisUrl!);
    await redis.set('waybill:e2e:survives-restart', '1');
    await redis.quit();

    // kill -9 of an app: the stack brings it back on its port, ready within 10 s, and says so.
    const reducer = groupMembers(first.child.pid!).find((p) => p.args.includes('apps/shipment-reducer/dist/main.js'));
    expect(reducer).toBeDefined();
    const reducerUrl = (/shipment-reducer up at (http:\/\/127\.0\.0\.1:\d+)/.exec(table) ?? /shipment-reducer\s*│\s*(http:\/\/127\.0\.0\.1:\d+)/.exec(table))?.[1];
    expect(reducerUrl).toBeDefined();
    const killedAt = Date.now();
    process.kill(reducer!.pid, 'SIGKILL');
    await until('shipment-reducer restarted', () => (/✔ shipment-reducer is back/.test(first.output()) ? true : undefined), 10_000, first.output);
    expect(Date.now() - killedAt).toBeLessThan(10_000);
    process.stderr.write(`npm start after kill -9: ${/✔ shipment-reducer is back[^\n]*/.exec(first.output())?.[0]} (${Date.now() - killedAt} ms from the kill)\n`);
    expect(first.output()).toMatch(/⚠ shipment-reducer exited \(code null, signal SIGKILL\); restarting it/);
    expect((await fetch(`${reducerUrl}/healthz`)).status).toBe(200);

    expect(survivors(dataDir).some((line) => line.includes('kafka.Kafka'))).toBe(true);
    const stopMs = await ctrlC(first);
    expect(stopMs).toBeLessThan(15_000);
    // A healthy run, a kill -9 and a stop included, is nothing an operator must act on: no line of
    // any app or of the registry at level error (50) or fatal (60).
    expect(first.output().split('\n').filter((line) => /"level":[56]0/.test(line))).toEqual([]);
    await new Promise((r) => setTimeout(r, 500));
    expect(survivors(dataDir)).toEqual([]);

    // A second start finds the data where the first left it, here with two reducers in one group.
    const second = await npmStart(dataDir, ['--instances', 'shipment-reducer=2']);
    expect(second.output()).toMatch(/shipment-reducer#2\s*│?\s*http:\/\/127\.0\.0\.1:\d+/);
    expect(groupMembers(second.child.pid ?? -1).filter((p) => p.args.includes('apps/shipment-reducer/dist/main.js'))).toHaveLength(2);
    expect(second.output()).toContain('topics already exist');
    expect(second.output()).not.toContain('formatting Kafka storage');
    const kafka2 = /kafka:\/\/(127\.0\.0\.1:\d+)/.exec(second.output())![1];
    const redis2 = /(redis:\/\/127\.0\.0\.1:\d+)/.exec(second.output())![1];
    const admin2 = new Kafka({ brokers: [kafka2], clientId: 'stack-e2e', logLevel: logLevel.NOTHING }).admin();
    await admin2.connect();
    const offsets = await admin2.fetchTopicOffsets(MARKER_TOPIC);
    // Both reducers are members of the one group, and between them own every partition.
    let reducerGroup = (await admin2.describeGroups(['shipment-reducer'])).groups[0];
    for (let i = 0; i < 100 && (reducerGroup.state !== 'Stable' || reducerGroup.members.length !== 2); i += 1) {
      await new Promise((r) => setTimeout(r, 200));
      reducerGroup = (await admin2.describeGroups(['shipment-reducer'])).groups[0];
    }
    expect(reducerGroup.members).toHaveLength(2);
    const owned = reducerGroup.members.flatMap((m) => AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment[TOPICS.shipmentCommands] ?? []);
    expect(owned.sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    await admin2.disconnect();
    expect(offsets.reduce((sum, p) => sum + Number(p.high), 0)).toBe(1);
    const redisAgain = new Redis(redis2);
    expect(await redisAgain.get('waybill:e2e:survives-restart')).toBe('1');
    await redisAgain.quit();

    // SIGTERM to the npm process alone (as a process manager or `kill <pid>` sends it) stops
    // everything too, instead of leaving the start script and the stack orphaned.
    const members = groupMembers(second.child.pid!);
    expect(members.length).toBeGreaterThan(5);
    process.kill(second.child.pid!, 'SIGTERM');
    await until('every process of the stack gone after SIGTERM to npm', () => (groupMembers(second.child.pid!).length === 0 ? true : undefined), 20_000, second.output);
    expect(survivors(dataDir)).toEqual([]);
  });
});
