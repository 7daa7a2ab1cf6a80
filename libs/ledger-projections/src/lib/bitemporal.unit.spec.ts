import { evolveEnvelope, initialState, STATE_SHAPE_VERSION } from '@waybill/shipment-domain';
import { businessOrderAfter, diffStates, foldOrdered, inEffect, placeEvents } from './as-of';
import type { EventDoc, ShipmentSummary, StateSnapshot } from './documents';
import { asEvents, asRecorded, design011, hm, lifecycle, resetOffsets, stored, T0 } from './fixtures.spec';
import { ledgerKeys } from './keys';
import { applyToMemory, docToEnvelope } from './project';
import { MemoryKeyspace } from './writes';

// The two time axes of the ledger (docs/ARCHITECTURE.md §6, §11): business time (the envelope's
// timestamp, occurredAt) and recorded time (the Kafka record timestamp), pure, in memory.

const PREFIX = 'b.ledger:';
const keys = ledgerKeys(PREFIX, 0);

beforeEach(() => resetOffsets());

function project(inputs: Parameters<typeof applyToMemory>[2], snapshotEvery = 100) {
  const ks = new MemoryKeyspace();
  applyToMemory(ks, PREFIX, inputs, { snapshotEvery });
  const id = inputs[0].record.value.aggregateId;
  const events = ks.zrange(keys.shipmentEvents(id)).map(([eventId]) => JSON.parse(stored(ks, keys.event(eventId))) as EventDoc);
  const summary = JSON.parse(stored(ks, keys.shipment(id))) as ShipmentSummary;
  return { ks, id, events, summary };
}

const versions = (docs: readonly EventDoc[]) => docs.map((d) => d.version);
const fold = (docs: readonly EventDoc[]) => foldOrdered(undefined, docs);

describe('the projection keeps both times of every event', () => {
  it('stores recordedAt and the observation mark on each event, and the recorded timeline as a running maximum', () => {
    const p = project(asRecorded(design011()));
    expect(p.events.map((e) => [e.version, e.timestamp, e.recordedAt])).toEqual([
      [1, hm(14, 0), hm(15, 0)],
      [2, hm(14, 5), hm(15, 1)],
      [3, hm(14, 35), hm(15, 2)],
      [4, hm(14, 10), hm(15, 3)],
    ]);
    expect(p.events[2].observation).toMatchObject({ source: 'legacy-wms', sourceId: 'f-1435', observedBy: 'wms.kim', violation: { fromStatus: 'PendingPicking' } });
    expect(p.ks.zrange(keys.shipmentRecorded(p.id))).toEqual([
      ['000000000001', hm(15, 0)],
      ['000000000002', hm(15, 1)],
      ['000000000003', hm(15, 2)],
      ['000000000004', hm(15, 3)],
    ]);
    expect(p.summary.recordedAt).toBe(hm(15, 3));
  });

  it('indexes an observed fact that arrived after a later one as late, by its business time', () => {
    const p = project(asRecorded(design011()));
    expect(p.summary.lateEvents).toBe(1);
    expect(p.ks.zrange(keys.shipmentLate(p.id))).toEqual([['000000000004', hm(14, 10)]]);
    // The business timeline (running max) does not move for it: the fast path's version cut.
    expect(p.ks.zrange(keys.shipmentTimeline(p.id)).map(([, at]) => at)).toEqual([hm(14, 0), hm(14, 5), hm(14, 35), hm(14, 35)]);
  });

  it('marks no event late when facts arrive in order, and never Waybill’s own decisions (a clock that stepped back)', () => {
    const records = lifecycle('S1');
    records[2].value.timestamp = T0 + 30_000; // v3 stamped before v2: not an observation, so not late
    const p = project(asEvents(records));
    expect(p.summary.lateEvents).toBeUndefined();
    expect(p.ks.zrange(keys.shipmentLate('S1'))).toEqual([]);
    expect(placeEvents(p.events).some((e) => e.late)).toBe(false);
    // An input without a Kafka timestamp counts as recorded at its business time.
    expect(p.events[0].recordedAt).toBe(p.events[0].timestamp);
  });

  it('orders alerts by when they were recorded, not by the business time an observed outcome carries', () => {
    const ks = new MemoryKeyspace();
    const outcome = (id: string, timestamp: number) => ({
      commandId: id,
      aggregateId: 'S9',
      commandType: 'RecordObservation',
      status: 'Accepted' as const,
      version: 1,
      eventIds: [],
      rejection: null,
      alert: true,
      violation: { code: 'INVALID_TRANSITION', rule: 'r', fromStatus: 'Packed', transition: 'Packed → PendingPicking', source: 'legacy-wms', sourceId: id, observedBy: 'wms.kim' },
      initiatedBy: 'wms-bridge',
      role: 'integration',
      traceId: 't',
      causationId: id,
      timestamp,
      eventId: `${id}:outcome`,
    });
    applyToMemory(ks, PREFIX, [
      { position: { topic: 'shipment.outcomes', partition: 0, offset: '0' }, record: { type: 'CommandOutcome', value: outcome('late', hm(9, 0)) }, recordedAt: hm(16, 0) },
      { position: { topic: 'shipment.outcomes', partition: 0, offset: '1' }, record: { type: 'CommandOutcome', value: outcome('early', hm(15, 0)) }, recordedAt: hm(15, 30) },
    ]);
    expect(ks.zrange(keys.alerts).map(([m]) => m.split('|')[1])).toEqual(['early:outcome', 'late:outcome']);
  });
});

describe('as of an instant on the business axis, the recorded axis, or both (design-011)', () => {
  const p = () => project(asRecorded(design011()));

  it('the state at 14:12 business time is the 14:10 state: the late fact takes its place', () => {
    const docs = inEffect(p().events, { asOf: hm(14, 12) });
    expect(versions(docs)).toEqual([1, 2, 4]);
    expect(fold(docs)).toMatchObject({ status: 'Picking', version: 4 });
  });

  it('orders by business time, ties by version, without rewriting history', () => {
    const { events } = p();
    expect(versions(inEffect(events))).toEqual([1, 2, 4, 3]);
    expect(versions(inEffect(events, { asOf: hm(14, 9) }))).toEqual([1, 2]);
    expect(versions(inEffect(events, { asOf: hm(14, 35) }))).toEqual([1, 2, 4, 3]);
    expect(fold(inEffect(events, { asOf: hm(14, 35) })).status).toBe('Packed');
    expect(inEffect(events, { asOf: hm(13, 59) })).toEqual([]);
  });

  it('on the recorded axis, what was known at each recording instant', () => {
    const { events } = p();
    const known = (h: number, m: number) => versions(inEffect(events, { knownAt: hm(h, m) }));
    expect(known(14, 59)).toEqual([]);
    expect(known(15, 0)).toEqual([1]);
    expect(known(15, 1)).toEqual([1, 2]);
    expect(known(15, 2)).toEqual([1, 2, 3]);
    expect(known(15, 3)).toEqual([1, 2, 4, 3]);
    expect(fold(inEffect(events, { knownAt: hm(15, 1) })).status).toBe('PendingPicking');
    expect(fold(inEffect(events, { knownAt: hm(15, 2) })).status).toBe('Packed');
  });

  it('both axes: what Waybill knew at knownAt about the state at asOf', () => {
    const { events } = p();
    const at1412 = (h: number, m: number) => fold(inEffect(events, { asOf: hm(14, 12), knownAt: hm(h, m) }));
    // At 15:02 the 14:10 fact was not recorded yet: 14:12 looked like PendingPicking.
    expect(at1412(15, 2)).toMatchObject({ status: 'PendingPicking', version: 2 });
    // From 15:03 on Waybill knew it was Picking then.
    expect(at1412(15, 3)).toMatchObject({ status: 'Picking', version: 4 });
  });

  it('the fold in business order leaves the status where the latest fact put it, as the running state does', () => {
    const { events, summary } = p();
    const running = events.reduce((state, doc) => evolveEnvelope(state, docToEnvelope(doc)), initialState());
    expect(running.status).toBe(summary.status);
    expect(fold(inEffect(events)).status).toBe(summary.status);
  });

  it('the reader’s sorted fold after a snapshot equals the brute-force order', () => {
    const { events } = p();
    const [v1, ...rest] = events;
    const snapshot: StateSnapshot = { shape: STATE_SHAPE_VERSION, version: 1, state: evolveEnvelope(initialState(), docToEnvelope(v1)) };
    const ordered = businessOrderAfter(rest, new Map([[4, hm(14, 10)]]), hm(14, 0));
    expect(versions(ordered)).toEqual([2, 4, 3]);
    expect(foldOrdered(snapshot, ordered)).toEqual(fold(inEffect(events)));
  });
});

describe('diff', () => {
  it('leaves the status timeline and lastEventAt (bookkeeping) out', () => {
    const { events } = project(asRecorded(design011()));
    const changes = diffStates(fold(inEffect(events, { asOf: hm(14, 6) })), fold(inEffect(events, { asOf: hm(14, 12) })));
    expect(changes.map((c) => c.path)).not.toContainEqual(expect.stringMatching(/^(statusTimeline|lastEventAt)/));
    expect(changes).toContainEqual({ path: 'status', before: 'PendingPicking', after: 'Picking' });
  });
});
