import fc from 'fast-check';
import type { ShipmentEventRecord } from '@waybill/contracts';
import { testEnvironment } from '@waybill/devstack';
import { applyBatch } from './apply-batch';
import { foldOrdered, inEffect, placeEvents } from './as-of';
import type { EventDoc, LedgerInput } from './documents';
import { asRecorded, design011, hm, resetOffsets } from './fixtures.spec';
import { LedgerReader } from './reader';

// LedgerReader.stateAt on real Redis against the brute-force definition (every event placed on
// both axes, filtered, sorted by business time, folded): random histories where observed facts
// arrive late, with snapshots every 3 events, so both the fast path and the sorted fold are hit.

const env = testEnvironment();
afterAll(() => env.cleanup());
beforeEach(() => resetOffsets());

const SNAPSHOT_EVERY = 3;
const MINUTE = 60_000;
const STATUSES = ['PendingPicking', 'Picking', 'Picked', 'Packed', 'ReadyForShipping'] as const;

/** A shipment created at `start`, then observed status facts with the given business-time offsets (minutes), recorded one a minute in that order. */
function history(id: string, start: number, offsets: number[], own: boolean[]): Array<{ record: ShipmentEventRecord; recordedAt: number }> {
  const [created] = design011(id);
  created.record.value.timestamp = start;
  created.recordedAt = start + 1_000;
  return [
    created,
    ...offsets.map((minutes, i) => {
      const version = i + 2;
      const toStatus = STATUSES[i % STATUSES.length];
      const mark = own[i] ? null : { source: 'legacy-wms', sourceId: `f-${version}`, process: null, observedBy: 'wms.kim', violation: null };
      const value = {
        eventId: `e-${id}-${version}:0`,
        aggregateId: id,
        aggregateType: 'Shipment',
        version,
        traceId: `trace-${id}`,
        causationId: `e-${id}-${version}`,
        initiatedBy: own[i] ? 'ana.associate' : 'wms-bridge',
        timestamp: start + minutes * MINUTE,
        observation: mark,
        data: { fromStatus: 'Created', toStatus, customerAccountId: 'ACC-1', totalMinor: 2500, currency: 'EUR' },
      };
      return { record: { type: 'StatusObserved', value } as ShipmentEventRecord, recordedAt: start + (version + 1) * MINUTE };
    }),
  ];
}

describe('LedgerReader.stateAt on both axes', () => {
  it('answers design-011: 14:12 is the 14:10 state; on the recorded axis, what was known at each recording', async () => {
    const redis = env.redis();
    const keyPrefix = `${env.uniqueName('bt')}:ledger:`;
    await applyBatch(redis, keyPrefix, asRecorded(design011('D1')), { snapshotEvery: 2 });
    const reader = new LedgerReader(redis, keyPrefix, () => [0, 1, 2]);
    const at = async (cut: { asOf?: number; knownAt?: number }) => {
      const s = await reader.stateAt('D1', cut);
      return s.kind === 'state' ? [s.state.status, s.version, s.throughVersion, s.alsoInEffect, s.reordered] : [s.kind];
    };
    expect(await at({ asOf: hm(14, 12) })).toEqual(['Picking', 4, 2, [4], true]);
    expect(await at({ asOf: hm(14, 6) })).toEqual(['PendingPicking', 2, 2, [], false]);
    expect(await at({ asOf: hm(13, 0) })).toEqual(['not-yet-created']);
    expect(await at({ knownAt: hm(14, 59) })).toEqual(['not-yet-recorded']);
    expect(await at({ knownAt: hm(15, 1) })).toEqual(['PendingPicking', 2, 2, [], false]);
    expect(await at({ knownAt: hm(15, 2) })).toEqual(['Packed', 3, 3, [], false]);
    expect(await at({ knownAt: hm(15, 3) })).toEqual(['Packed', 4, 4, [], true]);
    expect(await at({ asOf: hm(14, 12), knownAt: hm(15, 2) })).toEqual(['PendingPicking', 2, 2, [], false]);
    expect(await at({ asOf: hm(14, 12), knownAt: hm(15, 3) })).toEqual(['Picking', 4, 2, [4], true]);
    await redis.quit();
  });

  it('names the event a violating fact was judged against: its predecessor on the business axis when recorded', async () => {
    const redis = env.redis();
    const keyPrefix = `${env.uniqueName('bt')}:ledger:`;
    const history = design011('D2');
    // A fifth fact, at 14:20, recorded last and forbidden: it followed the late 14:10 fact (v4), not v3 at 14:35.
    const fifth = structuredClone(history[2]);
    Object.assign(fifth.record.value, { eventId: 'obs-D2-f-1420:0', version: 5, timestamp: hm(14, 20) });
    fifth.recordedAt = hm(15, 4);
    await applyBatch(redis, keyPrefix, asRecorded([...history, fifth]), { snapshotEvery: 2 });
    const reader = new LedgerReader(redis, keyPrefix, () => [0, 1, 2]);
    const events = await reader.shipmentEvents('D2');
    const previous = await reader.judgedAfter(events);
    expect([...previous].map(([eventId, doc]) => [eventId, doc?.version])).toEqual([
      ['obs-D2-f-1435:0', 2],
      ['obs-D2-f-1420:0', 4],
    ]);
    await redis.quit();
  });

  it('equals the brute-force fold for random late histories at random instants on either axis and both', async () => {
    const redis = env.redis();
    const base = Date.parse('2025-04-01T08:00:00Z');
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 14 }),
        fc.array(fc.boolean(), { minLength: 14, maxLength: 14 }),
        fc.array(fc.tuple(fc.option(fc.integer({ min: -2, max: 45 })), fc.option(fc.integer({ min: 0, max: 18 }))), { minLength: 6, maxLength: 6 }),
        async (offsets, own, cuts) => {
          n += 1;
          const id = `R${n}`;
          const keyPrefix = `${env.uniqueName('btp')}:ledger:`;
          const inputs: LedgerInput[] = asRecorded(history(id, base, offsets, own));
          await applyBatch(redis, keyPrefix, inputs, { snapshotEvery: SNAPSHOT_EVERY });
          const reader = new LedgerReader(redis, keyPrefix, () => [0, 1, 2]);
          const events: EventDoc[] = await reader.shipmentEvents(id);
          for (const [asOfMin, knownMin] of cuts) {
            const cut = { asOf: asOfMin === null ? undefined : base + asOfMin * MINUTE, knownAt: knownMin === null ? undefined : base + knownMin * MINUTE };
            const expected = inEffect(events, cut);
            const got = await reader.stateAt(id, cut);
            if (expected.length === 0) {
              expect(got.kind).not.toBe('state');
              continue;
            }
            if (got.kind !== 'state') throw new Error(`${id} ${JSON.stringify(cut)}: ${got.kind}, expected versions ${expected.map((e) => e.version)}`);
            expect(got.state).toEqual(foldOrdered(undefined, expected));
            const inEffectVersions = expected.map((e) => e.version).sort((a, b) => a - b);
            const answered = [...Array.from({ length: got.throughVersion }, (_, i) => i + 1), ...got.alsoInEffect].sort((a, b) => a - b);
            expect(answered).toEqual(inEffectVersions);
            // Only a shipment with late facts in effect takes the sorted fold.
            const late = placeEvents(events).filter((p) => p.late && expected.includes(p.doc));
            expect(got.reordered).toBe(late.length > 0);
          }
          const written = await redis.keys(`{${keyPrefix}*`);
          expect(written.length).toBeGreaterThan(0);
          await redis.del(...written);
        },
      ),
      { numRuns: 40 },
    );
    await redis.quit();
  });
});
