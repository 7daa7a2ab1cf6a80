import { evolveEnvelope, initialState } from '@waybill/shipment-domain';
import type { EventDoc, StateSnapshot } from './documents';
import { diffStates, foldTo, timelineOf, versionAt } from './as-of';
import { ledgerKeys } from './keys';
import { applyToMemory, docToEnvelope } from './project';
import { MemoryKeyspace } from './writes';
import { asEvents, lifecycle, longHistory, resetOffsets, stored, T0 } from './fixtures.spec';

const PREFIX = 't.ledger:';
const keys = ledgerKeys(PREFIX, 0);
const MINUTE = 60_000;

beforeEach(() => resetOffsets());

function project(records: ReturnType<typeof lifecycle>, snapshotEvery = 100) {
  const ks = new MemoryKeyspace();
  applyToMemory(ks, PREFIX, asEvents(records), { snapshotEvery });
  const id = records[0].value.aggregateId;
  const events = ks.zrange(keys.shipmentEvents(id)).map(([eventId]) => JSON.parse(stored(ks, keys.event(eventId))) as EventDoc);
  const timeline = ks.zrange(keys.shipmentTimeline(id)).map(([v, effectiveAt]) => ({ version: Number(v), effectiveAt }));
  const snapshots = ks.zrange(keys.shipmentSnapshots(id)).map(([member]) => JSON.parse(member) as StateSnapshot);
  return { ks, events, timeline, snapshots };
}

function stateAt(p: ReturnType<typeof project>, instant: number) {
  const version = versionAt(p.timeline, instant);
  if (version === 0) return undefined;
  const snapshot = [...p.snapshots].reverse().find((s) => s.version <= version);
  return foldTo(snapshot, p.events, version);
}

describe('as of an instant', () => {
  const p = project(lifecycle('S1'));

  it('does not exist before the first event', () => {
    expect(versionAt(p.timeline, T0 - 1)).toBe(0);
    expect(stateAt(p, T0 - 1)).toBeUndefined();
  });

  it('includes an event at exactly its timestamp', () => {
    expect(stateAt(p, T0)).toMatchObject({ status: 'Created', version: 1 });
    expect(stateAt(p, T0 + 2 * MINUTE)).toMatchObject({ status: 'Picking', version: 3 });
  });

  it('between two events is the earlier state', () => {
    expect(stateAt(p, T0 + 2 * MINUTE + 59_999)).toMatchObject({ status: 'Picking', version: 3 });
    expect(stateAt(p, T0 + MINUTE - 1)).toMatchObject({ status: 'Created', version: 1 });
  });

  it('after the last event is the current state', () => {
    expect(stateAt(p, T0 + 365 * 24 * 60 * MINUTE)).toEqual(JSON.parse(stored(p.ks, keys.shipment('S1'))).state);
  });

  it('never shows a later version before an earlier one when a clock stepped back', () => {
    const records = lifecycle('S2');
    records[2].value.timestamp = T0 + 30_000; // v3 stamped before v2
    const q = project(records);
    expect(timelineOf(q.events).map((t) => t.effectiveAt)).toEqual(q.timeline.map((t) => t.effectiveAt));
    expect(versionAt(q.timeline, T0 + 30_000)).toBe(1);
    expect(versionAt(q.timeline, T0 + MINUTE)).toBe(3);
  });
});

describe('snapshots', () => {
  it('every N events give the same state as folding from zero, at every instant around every event', () => {
    const records = longHistory('S3', 57);
    const plain = project(records, 1_000);
    const snapped = project(records, 7);
    expect(plain.snapshots).toEqual([]);
    expect(snapped.snapshots.map((s) => s.version)).toEqual([7, 14, 21, 28, 35, 42, 49, 56]);
    for (const event of plain.events) {
      for (const instant of [event.timestamp - 1, event.timestamp, event.timestamp + 1]) {
        const fromZero = plain.events.filter((e) => e.version <= versionAt(plain.timeline, instant)).reduce((s, e) => evolveEnvelope(s, docToEnvelope(e)), initialState());
        const expected = versionAt(plain.timeline, instant) === 0 ? undefined : fromZero;
        expect(stateAt(snapped, instant)).toEqual(expected);
        expect(stateAt(plain, instant)).toEqual(expected);
      }
    }
  });

  it('ignores a snapshot written by another state shape', () => {
    const p = project(longHistory('S4', 10), 5);
    const stale: StateSnapshot = { ...p.snapshots[0], shape: -1, state: { ...p.snapshots[0].state, orderId: 'WRONG' } };
    expect(foldTo(stale, p.events, 8).orderId).toBe('ORD-S4');
  });
});

describe('diff', () => {
  it('lists the fields that changed, before and after', () => {
    const p = project(lifecycle('S1'));
    const changes = diffStates(stateAt(p, T0 + MINUTE), stateAt(p, T0 + 3 * MINUTE));
    expect(changes).toEqual(
      expect.arrayContaining([
        { path: 'status', before: 'PendingPicking', after: 'Picking' },
        { path: 'version', before: 2, after: 4 },
        { path: 'lines[0].picked', before: 0, after: 2 },
        { path: 'lines[1].picked', before: 0, after: 1 },
      ]),
    );
    expect(changes.find((c) => c.path === 'orderId')).toBeUndefined();
  });

  it('from before creation shows every field as new', () => {
    const p = project(lifecycle('S1'));
    const changes = diffStates(undefined, stateAt(p, T0));
    expect(changes).toContainEqual({ path: 'status', before: null, after: 'Created' });
  });
});
