import type { CommandMetadata } from './commands';
import { evolveEnvelope, isLateObservation, statusAt, toEnvelopes, type ShipmentEventEnvelope } from './envelope';
import { createData, meta } from './fixtures.spec';
import { decideObservation, type ObservedFact, type RecordObservation } from './observations';
import { initialState, type ShipmentState } from './state';
import { validateObservedFact } from './validation';

const MINUTE = 60_000;
/** 14:00 on the day of the story. */
const T14 = Date.UTC(2026, 11, 1, 14, 0);

let sequence = 0;
function observed(fact: Partial<ObservedFact> & Pick<ObservedFact, 'kind'>, at: number, metadata: Partial<CommandMetadata> = {}): RecordObservation {
  sequence += 1;
  return {
    type: 'RecordObservation',
    data: { source: 'legacy-wms', sourceId: `fact-${sequence}`, observedBy: 'Walter Chin', ...fact },
    metadata: meta({ commandId: `obs-${sequence}`, role: 'integration', initiatedBy: 'legacy-feed', now: at, ...metadata }),
  };
}

/** Records each fact in the order given (arrival order), as the reducer does. */
function record(facts: RecordObservation[], from: ShipmentState = initialState()): { state: ShipmentState; envelopes: ShipmentEventEnvelope[] } {
  let state = from;
  const envelopes: ShipmentEventEnvelope[] = [];
  for (const fact of facts) {
    const { events, mark } = decideObservation(fact, state);
    for (const envelope of toEnvelopes(fact, events, state, mark)) {
      envelopes.push(envelope);
      state = evolveEnvelope(state, envelope);
    }
  }
  return { state, envelopes };
}

const create = (at: number) => observed({ kind: 'Created', order: createData }, at);
const status = (toStatus: ObservedFact['toStatus'], at: number) => observed({ kind: 'StatusChanged', toStatus }, at);

describe('Recording an observed fact', () => {
  it('records a legal fact as the ordinary event, marked with its source and who did it there', () => {
    const { envelopes, state } = record([create(T14), status('PendingPicking', T14 + MINUTE), observed({ kind: 'LinePicked', sku: 'SKU-A', quantity: 2 }, T14 + 2 * MINUTE)]);
    expect(envelopes.map((e) => e.type)).toEqual(['ShipmentCreated', 'StatusObserved', 'ItemPicked']);
    expect(envelopes[2]).toMatchObject({ initiatedBy: 'legacy-feed', timestamp: T14 + 2 * MINUTE, observation: { source: 'legacy-wms', observedBy: 'Walter Chin' }, data: { pickedForSku: 2 } });
    expect(envelopes.every((e) => e.observation?.violation === undefined)).toBe(true);
    expect(state).toMatchObject({ status: 'Picking', version: 3 });
  });

  it('records what the state machine forbids, flags it with the rule, and lets the running status follow the source', () => {
    const facts = [create(T14), status('PendingPicking', T14 + MINUTE), status('Picked', T14 + 2 * MINUTE), observed({ kind: 'Packed', packageCount: 1 }, T14 + 3 * MINUTE)];
    const { state, envelopes } = record([...facts, status('PendingPicking', T14 + 4 * MINUTE)]);
    const back = envelopes[envelopes.length - 1];
    expect(back.type).toBe('StatusObserved');
    expect(back.observation?.violation).toEqual({
      code: 'INVALID_TRANSITION',
      fromStatus: 'Packed',
      transition: 'Packed → PendingPicking',
      rule: expect.stringMatching(/no transition from Packed to PendingPicking/),
    });
    expect(state.status).toBe('PendingPicking');
  });

  it('judges a fact the table has a command for with that command\'s rules: over-picking is flagged', () => {
    const { envelopes, state } = record([create(T14), status('PendingPicking', T14 + 1), observed({ kind: 'LinePicked', sku: 'SKU-B', quantity: 3 }, T14 + 2)]);
    expect(envelopes[2].observation?.violation).toMatchObject({ code: 'INVALID_TRANSITION', fromStatus: 'PendingPicking', rule: expect.stringMatching(/only 1 were ordered/) });
    expect(state.lines.find((line) => line.sku === 'SKU-B')?.picked).toBe(3);
  });

  it('flags a status change past an unmet guard: picked before every line is picked', () => {
    const { envelopes } = record([create(T14), status('PendingPicking', T14 + 1), observed({ kind: 'LinePicked', sku: 'SKU-A', quantity: 1 }, T14 + 2), status('Picked', T14 + 3)]);
    expect(envelopes[3].observation?.violation).toMatchObject({ transition: 'Picking → Picked', rule: expect.stringMatching(/SKU SKU-A has 1 of 2 picked/) });
  });

  it('starts a shipment Waybill never saw without a violation: the source created it', () => {
    const { envelopes, state } = record([status('Packed', T14)]);
    expect(envelopes[0]).toMatchObject({ type: 'StatusObserved', version: 1, data: { fromStatus: 'None', toStatus: 'Packed' } });
    expect(envelopes[0].observation?.violation).toBeUndefined();
    expect(state.status).toBe('Packed');
  });

  it('flags a second creation as a version conflict but still records it', () => {
    const { envelopes } = record([create(T14), create(T14 + 1)]);
    expect(envelopes.map((e) => e.type)).toEqual(['ShipmentCreated', 'ShipmentCreated']);
    expect(envelopes[1].observation?.violation).toMatchObject({ code: 'VERSION_CONFLICT', fromStatus: 'Created' });
  });

  it('records a repeated status as a fact without a violation', () => {
    const { envelopes } = record([create(T14), status('Created', T14 + 1)]);
    expect(envelopes[1].observation?.violation).toBeUndefined();
  });

  it('carries the source process as the mark\'s process, and derives nothing itself (ids and time come in)', () => {
    const fact = observed({ kind: 'Created', order: createData, process: 'order-flow-7' }, T14);
    const { events, mark } = decideObservation(fact, initialState());
    expect(mark).toEqual({ source: 'legacy-wms', sourceId: fact.data.sourceId, process: 'order-flow-7', observedBy: 'Walter Chin' });
    expect(events).toHaveLength(1);
  });
});

describe('Late facts: the status follows business time', () => {
  // The design-011 timeline: facts at 14:00, 14:05, 14:10 and 14:35, recorded 14:00, 14:10, 14:05, 14:35.
  const createdAt = create(T14);
  const releasedAt = status('PendingPicking', T14 + 5 * MINUTE);
  const pickedAt = observed({ kind: 'LinePicked', sku: 'SKU-A', quantity: 2 }, T14 + 10 * MINUTE);
  const cancelledAt = observed({ kind: 'Cancelled', reason: 'customer called' }, T14 + 35 * MINUTE);

  it('judges a late fact against the status in effect when it happened, so it is not a false alarm', () => {
    const { envelopes } = record([createdAt, pickedAt, releasedAt]);
    // Picking straight from Created is what Waybill saw first: flagged. The release, recorded late, happened before it.
    expect(envelopes[1].observation?.violation).toMatchObject({ fromStatus: 'Created' });
    expect(envelopes[2].observation?.violation).toBeUndefined();
    expect(envelopes[2].data).toMatchObject({ fromStatus: 'Created', toStatus: 'PendingPicking' });
  });

  it('places a late fact in the status timeline without moving the running status', () => {
    const { state } = record([createdAt, pickedAt, releasedAt, cancelledAt]);
    expect(state.status).toBe('Cancelled');
    expect(state.statusTimeline).toEqual([
      { at: T14, status: 'Created' },
      { at: T14 + 5 * MINUTE, status: 'PendingPicking' },
      { at: T14 + 10 * MINUTE, status: 'Picking' },
      { at: T14 + 35 * MINUTE, status: 'Cancelled' },
    ]);
    expect(statusAt(state, T14 + 12 * MINUTE)).toBe('Picking');
    expect(statusAt(state, T14 + 7 * MINUTE)).toBe('PendingPicking');
    expect(statusAt(state, T14 - 1)).toBe('None');
  });

  it('after a late fact, the running status is still what the latest fact made it', () => {
    const { state } = record([createdAt, pickedAt, releasedAt]);
    expect(state.status).toBe('Picking');
    expect(isLateObservation(record([createdAt, pickedAt]).state, { timestamp: releasedAt.metadata.now, observation: { source: 's', sourceId: 'x', observedBy: 'y' } })).toBe(true);
  });

  it('calls a fact late by the latest business time of any event, as the ledger’s business axis does, so the running status and the business-order fold agree', () => {
    // Picking since 14:10, a second pick at 14:20 (no new status), then a pack reported for 14:15.
    const facts = [createdAt, releasedAt, pickedAt, observed({ kind: 'LinePicked', sku: 'SKU-B', quantity: 1 }, T14 + 20 * MINUTE), observed({ kind: 'Packed', packageCount: 1 }, T14 + 15 * MINUTE)];
    const { state, envelopes } = record(facts);
    expect(state.status).toBe('Picking');
    const businessOrder = [...envelopes].sort((a, b) => a.timestamp - b.timestamp || a.version - b.version);
    expect(businessOrder.reduce(evolveEnvelope, initialState()).status).toBe(state.status);
    expect(envelopes[4].observation?.violation).toMatchObject({ fromStatus: 'Picking', transition: 'Picking → Packed' });
  });

  it('never treats Waybill\'s own decision as late, even with a clock behind the source\'s', () => {
    const { state } = record([createdAt, pickedAt]);
    const own = toEnvelopes({ metadata: meta({ commandId: 'own-1', now: T14 + MINUTE }) }, [{ type: 'PickingCompleted', data: {} }], state);
    const after = evolveEnvelope(state, own[0]);
    expect(after.status).toBe('Picked');
    expect(after.statusTimeline?.at(-1)).toEqual({ at: T14 + 10 * MINUTE, status: 'Picked' });
  });
});

describe('validateObservedFact', () => {
  it('names every missing or wrong field', () => {
    expect(validateObservedFact({ source: 'legacy-wms', kind: 'StatusChanged', toStatus: 'Teleported' })).toEqual([
      { field: 'sourceId', message: 'is required and must not be blank' },
      { field: 'observedBy', message: 'is required and must not be blank' },
      { field: 'toStatus', message: expect.stringMatching(/^must be one of Created, PendingPicking/) },
    ]);
    expect(validateObservedFact({ source: 's', sourceId: 'x', observedBy: 'y', kind: 'Beamed' })).toEqual([{ field: 'kind', message: expect.stringMatching(/^must be one of Created, StatusChanged/) }]);
    expect(validateObservedFact({ source: 's', sourceId: 'x', observedBy: 'y', kind: 'Created', order: { ...createData, currency: 'euro' } })).toEqual([
      { field: 'order.currency', message: expect.stringMatching(/three upper-case letters/) },
    ]);
  });

  it('accepts a well-formed fact of every kind', () => {
    const base = { source: 's', sourceId: 'x', observedBy: 'y' };
    for (const fact of [
      { kind: 'Created', order: createData },
      { kind: 'StatusChanged', toStatus: 'Packed' },
      { kind: 'LinePicked', sku: 'A', quantity: 1 },
      { kind: 'Packed', packageCount: 2 },
      { kind: 'Shipped', carrier: 'DHL', trackingNumber: 'T1' },
      { kind: 'Delivered', receivedBy: 'Ann' },
      { kind: 'Cancelled', reason: 'gone' },
    ]) {
      expect(validateObservedFact({ ...base, ...fact })).toEqual([]);
    }
  });
});
