import net from 'node:net';
import { testEnvironment } from '@waybill/devstack';
import type { ShipmentEventRecord } from '@waybill/contracts';
import type { LedgerInput } from './documents';
import { asEvents, asOutcome, asTransaction, lifecycle, rejectedOutcome, resetOffsets, T0, transaction } from './fixtures.spec';
import { ledgerKeys } from './keys';
import { dumpLedgerKeyspace } from './keyspace';
import { applyToMemory, offsetField, type OffsetMark } from './project';
import { RebuildWriter } from './rebuild-writer';
import { MemoryKeyspace } from './writes';

const SNAPSHOT_EVERY = 3;

/** A shipment moved back from Packed to Picking, then forward again: a status zset loses and regains it. */
function correctedTwice(id: string): ShipmentEventRecord[] {
  const records = lifecycle(id).slice(0, 6);
  const base = records[5].value;
  const correction = (version: number, fromStatus: string, toStatus: string) =>
    ({
      type: 'StatusCorrected',
      value: {
        ...base,
        eventId: `fix-${id}-${version}:0`,
        version,
        timestamp: T0 + version * 60_000,
        initiatedBy: 'sue.supervisor',
        data: { fromStatus, toStatus, reason: 'miscount', correctedBy: 'sue.supervisor', customerAccountId: 'ACC-1', totalMinor: 7499, currency: 'EUR' },
      },
    }) as ShipmentEventRecord;
  return [...records, correction(7, 'Packed', 'Picking'), correction(8, 'Picking', 'Packed')];
}

/** Every kind of record the ledger projects, over two partitions, with replayed duplicates. */
function history(): { byPartition: LedgerInput[][]; marks: OffsetMark[] } {
  resetOffsets();
  const p0 = [
    ...asEvents(lifecycle('S1'), 0),
    ...asEvents(correctedTwice('S2'), 0),
    asOutcome(rejectedOutcome('S1', T0 + 99_000), 0),
    asOutcome(rejectedOutcome('S2', T0 + 98_000, false), 0),
    asTransaction(transaction('ACC-1', 'tx-1', 7499, T0 + 9 * 60_000, {}, 'trace-S1'), 0),
  ];
  const p1 = [
    ...asEvents(lifecycle('S3', T0 + 5_000), 1),
    asTransaction(transaction('ACC-2', 'tx-2', -1200, T0 + 120_000), 1),
    asTransaction(transaction('ACC-2', 'tx-3', 500, T0 + 130_000), 1),
  ];
  // A producer retry wrote some records twice: the projection must ignore the second copies.
  const duplicates = [p0[3], p0[4], p0[p0.length - 1]].map((input) => ({ ...input, position: { ...input.position, offset: String(100 + Number(input.position.offset)) } }));
  const marks: OffsetMark[] = [
    { topic: 'shipment.events', partition: 0, next: '200' },
    { topic: 'shipment.events', partition: 1, next: '200' },
    { topic: 'shipment.outcomes', partition: 0, next: '200' },
    { topic: 'accounting.transactions', partition: 0, next: '200' },
    { topic: 'accounting.transactions', partition: 1, next: '200' },
  ];
  return { byPartition: [[...p0, ...duplicates], p1], marks };
}

/**
 * The commands one client sends, seen through MONITOR on a plain socket. ioredis 6's own
 * `monitor()` marks its connection as monitoring only a microtask after MONITOR's OK, so monitor
 * lines arriving in the same read as the OK are taken for replies to nothing and thrown as
 * "Command queue state error" (CI hit it on the busy shared Redis).
 */
async function watchCommands(redisUrl: string, source: string): Promise<{ commands: string[][]; close(): void }> {
  const { hostname, port } = new URL(redisUrl);
  const socket = net.connect(Number(port || 6379), hostname);
  const commands: string[][] = [];
  let buffered = '';
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      let end: number;
      while ((end = buffered.indexOf('\r\n')) >= 0) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        if (line === '+OK') resolve();
        // +<time> [<db> <address>] "<command>" "<arg>" …
        const parsed = /^\+\S+ \[\d+ (\S+)\] (.*)$/.exec(line);
        if (parsed && parsed[1] === source) commands.push([...parsed[2].matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m, i) => (i === 0 ? m[1].toLowerCase() : m[1])));
      }
    });
    socket.write('MONITOR\r\n');
  });
  return { commands, close: () => socket.destroy() };
}

const chunks = <T>(items: T[], size: number): T[][] => Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

describe('RebuildWriter', () => {
  const env = testEnvironment();
  afterAll(() => env.cleanup());

  it.each([1, 4, 100])('streams exactly the keyspace applyToMemory plans (batches of %i)', async (batchSize) => {
    const redis = env.redis();
    const keyPrefix = `${env.uniqueName('rebuild-writer')}:`;
    const { byPartition, marks } = history();

    const memory = new MemoryKeyspace();
    const writer = new RebuildWriter(redis, keyPrefix, { snapshotEvery: SNAPSHOT_EVERY, maxInFlight: 2 });
    // Partitions interleave batch by batch, as the replay's concurrent partitions do.
    const perPartition = byPartition.map((inputs) => chunks(inputs, batchSize));
    for (let i = 0; i < Math.max(...perPartition.map((c) => c.length)); i += 1) {
      for (const batches of perPartition) {
        const batch = batches[i];
        if (!batch) continue;
        applyToMemory(memory, keyPrefix, batch, { snapshotEvery: SNAPSHOT_EVERY });
        await writer.apply(batch);
      }
    }
    applyToMemory(memory, keyPrefix, [], { snapshotEvery: SNAPSHOT_EVERY, marks });
    await writer.apply([], marks);
    await writer.finish();

    const [p0, p1] = [ledgerKeys(keyPrefix, 0), ledgerKeys(keyPrefix, 1)];
    expect(await dumpLedgerKeyspace(redis, keyPrefix)).toEqual(memory.dump());
    // The things most likely to go wrong in a net write: a shipment that left and re-entered a
    // status, counts summed over batches, duplicates ignored, offsets at the marks.
    expect(memory.hgetall(p0.statusCounts)).toMatchObject({ Packed: '1', Shipped: '1' });
    expect(memory.hgetall(p1.statusCounts)).toMatchObject({ Shipped: '1' });
    expect(memory.zrange(p0.status('Packed')).map(([m]) => m)).toEqual(['S2']);
    expect(memory.zrange(p0.alerts)).toHaveLength(1);
    expect(JSON.parse(memory.get(p1.account('ACC-2')) ?? '{}')).toMatchObject({ balanceMinor: -700, version: 2 });
    expect(await redis.hget(p1.offsets, offsetField('shipment.events', 1))).toBe('200');
    expect(writer.commands).toBeGreaterThan(0);
  });

  it('sends each batch with its offsets as one MULTI/EXEC, so a rebuild cut short leaves whole batches', async () => {
    const redis = env.redis();
    const keyPrefix = `${env.uniqueName('rebuild-cut')}:`;
    resetOffsets();
    const inputs = asEvents(lifecycle('S9'), 0);
    const writer = new RebuildWriter(redis, keyPrefix, { snapshotEvery: SNAPSHOT_EVERY });
    await writer.apply(inputs.slice(0, 5));
    await writer.finish();
    const keys = ledgerKeys(keyPrefix, 0);
    // What a reader (or a ledger restarted on this keyspace) finds: the first five events and an
    // offset saying exactly that.
    expect(await redis.hget(keys.offsets, offsetField('shipment.events', 0))).toBe('5');
    expect(JSON.parse((await redis.get(keys.shipment('S9'))) ?? '{}')).toMatchObject({ version: 5, status: 'Picked' });
    expect(await redis.zcard(keys.shipmentEvents('S9'))).toBe(5);

    // MONITOR shows every client of the shared test Redis: other test files run MULTIs at the same
    // time (CI saw 21), so only the writer's own connection counts.
    const { localAddress, localPort } = (redis as unknown as { stream: { localAddress: string; localPort: number } }).stream;
    const monitor = await watchCommands(env.redisUrl, `${localAddress}:${localPort}`);
    await writer.apply(inputs.slice(5));
    await writer.finish();
    await new Promise((resolve) => setTimeout(resolve, 200));
    monitor.close();
    const seen = monitor.commands.filter((args) => args.some((arg) => arg.startsWith(`{${keyPrefix}`)) || ['multi', 'exec'].includes(args[0])).map((args) => args[0]);
    // Everything the batch wrote, its offsets included, sits between one MULTI and its EXEC.
    expect(seen.filter((c) => c === 'multi')).toHaveLength(1);
    expect(seen[0]).toBe('multi');
    expect(seen[seen.length - 1]).toBe('exec');
    expect(seen).toEqual(expect.arrayContaining(['mset', 'zadd', 'hincrby', 'hset']));
    expect(await redis.hget(keys.offsets, offsetField('shipment.events', 0))).toBe('8');
  });

  it('reports a Redis error at the next call instead of losing the batch silently', async () => {
    const redis = env.redis();
    const keyPrefix = `${env.uniqueName('rebuild-error')}:`;
    resetOffsets();
    const keys = ledgerKeys(keyPrefix, 0);
    // A key of the wrong type makes the ZADD of the first batch fail inside EXEC.
    await redis.set(keys.feed, 'not a zset');
    const writer = new RebuildWriter(redis, keyPrefix, { snapshotEvery: SNAPSHOT_EVERY });
    await writer.apply(asEvents(lifecycle('S5'), 0).slice(0, 2));
    await expect(writer.finish()).rejects.toThrow(/WRONGTYPE/);
    await expect(writer.apply(asEvents(lifecycle('S6'), 0))).rejects.toThrow(/WRONGTYPE/);
  });
});
