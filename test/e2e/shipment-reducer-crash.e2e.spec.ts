import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import type { CommandOutcome, ShipmentEventRecord } from '@waybill/contracts';
import { freePort, silentProgress, startRedis, type RedisHandle } from '@waybill/devstack';
import { pipeline, type Pipeline } from '../support/pipeline';
import { commandMessages, lifeOf } from '../support/shipment-commands';

// Kill -9 the reducer again and again while commands flow, and flush its Redis once while it
// runs: no command is lost, no event is written twice, every command is answered exactly once.

const SHIPMENTS = Number(process.env.CRASH_TEST_SHIPMENTS ?? 60);
const KILLS = Number(process.env.CRASH_TEST_KILLS ?? 4);

describe('shipment-reducer under SIGKILL and a Redis flush', () => {
  let p: Pipeline;
  let redis: RedisHandle;
  const dir = mkdtempSync(join(tmpdir(), 'waybill-crash-redis-'));

  beforeAll(async () => {
    // A private Redis: this test flushes it.
    redis = await startRedis({ dataDir: dir, port: await freePort() }, silentProgress);
    p = await pipeline('crash', { redisUrl: redis.url });
  });
  afterAll(async () => {
    await p?.close();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loses no command, repeats no event and answers every command once', async () => {
    const producer = p.env.kafka.producer();
    await producer.connect();
    const commands = Array.from({ length: SHIPMENTS }, (_, i) => lifeOf(`K-${i}`, 0));
    // Each shipment's commands go out in order, a step at a time across all shipments, so the
    // reducer is always in the middle of many lives when it is killed.
    const sendStep = async (step: number) => {
      await producer.send({ topic: p.topics.shipmentCommands, messages: await commandMessages(p.serde, commands.map((life) => life[step])) });
    };

    const t0 = Date.now();
    const mark = (what: string) => process.stderr.write(`[crash-test] ${((Date.now() - t0) / 1000).toFixed(1)} s ${what}\n`);
    let reducer = await p.start('shipment-reducer', { MAX_BATCH_SIZE: '50', SESSION_TIMEOUT_MS: '6000' });
    mark('reducer up');
    const flusher = new Redis(redis.url);
    for (let step = 0; step < 6; step++) {
      await sendStep(step);
      if (step < KILLS) {
        await new Promise((r) => setTimeout(r, 200 + Math.random() * 600));
        reducer.service.kill('SIGKILL');
        await reducer.service.exited;
        if (step === 1) await flusher.flushall(); // snapshots gone while the reducer is down
        reducer = await p.start('shipment-reducer', { MAX_BATCH_SIZE: '50', SESSION_TIMEOUT_MS: '6000' });
        mark(`restarted after kill ${step + 1}`);
      }
      if (step === 4) {
        await new Promise((r) => setTimeout(r, 300));
        await flusher.flushall(); // and once while it runs
      }
    }
    await producer.disconnect();
    await flusher.quit();

    const total = SHIPMENTS * 6;
    mark('all commands sent');
    const outcomeRecords = await p.readTopic('shipmentOutcomes', total, 120_000);
    mark(`read ${outcomeRecords.length} outcomes`);
    const outcomes = outcomeRecords.flatMap((r) => (r.recordName === 'CommandOutcome' ? [r.value as CommandOutcome] : []));
    const eventRecords = await p.readTopic('shipmentEvents', total, 60_000);
    const events = eventRecords.map((r) => r.value as ShipmentEventRecord['value']);

    // Every command answered exactly once, and accepted: a lost snapshot would have made later
    // commands fail (wrong status or version), a doubled one would have shown as a repeat.
    const byCommand = new Map<string, number>();
    for (const o of outcomes) byCommand.set(o.commandId, (byCommand.get(o.commandId) ?? 0) + 1);
    expect(byCommand.size).toBe(total);
    expect([...byCommand.values()].every((n) => n === 1)).toBe(true);
    expect(outcomes.filter((o) => o.status !== 'Accepted').map((o) => [o.commandId, o.rejection?.reason])).toEqual([]);

    // One event per command, ids never repeated, versions 1..6 per shipment.
    expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);
    expect(events).toHaveLength(total);
    for (const life of commands) {
      const id = life[0].metadata.shipmentId;
      const versions = events.filter((e) => e.aggregateId === id).map((e) => e.version);
      expect(versions).toEqual([1, 2, 3, 4, 5, 6]);
    }
  }, 300_000);
});
