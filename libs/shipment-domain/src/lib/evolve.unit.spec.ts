import { replay } from '@waybill/util';
import { decide } from './decide';
import { shipmentDecider } from './decider';
import { evolveEnvelope, toEnvelopes, toEvent } from './envelope';
import { isRejection } from './errors';
import type { ShipmentEvent } from './events';
import { evolve } from './evolve';
import { HISTORY, NOW, as, command, created, event, pickedA1, released } from './fixtures.spec';
import { STATE_SHAPE_VERSION, initialState } from './state';

const HISTORY_CORRECTION = { fromStatus: 'Packed', reason: 'x', correctedBy: 'sam', customerAccountId: 'ACC-9', totalMinor: 7499, currency: 'EUR' };

describe('initialState', () => {
  it('is a shipment that does not exist, at version 0', () => {
    expect(initialState()).toMatchObject({ status: 'None', version: 0, lines: [], totalMinor: 0 });
  });

  it('hands out a fresh object each time', () => {
    expect(initialState()).not.toBe(initialState());
  });

  it('is shape version 3 (the status timeline; lastEventAt the latest business time)', () => {
    expect(STATE_SHAPE_VERSION).toBe(3);
  });
});

describe('evolve', () => {
  it('folds a whole delivery into the state a warehouse person would describe', () => {
    expect(replay(shipmentDecider, HISTORY.Delivered)).toEqual({
      status: 'Delivered',
      version: 10,
      orderId: 'ORD-77',
      customerAccountId: 'ACC-9',
      currency: 'EUR',
      lines: [
        { sku: 'SKU-A', ordered: 2, picked: 2, unitPriceMinor: 1250 },
        { sku: 'SKU-B', ordered: 1, picked: 1, unitPriceMinor: 4999 },
      ],
      destination: { name: 'Jan de Vries', street: 'Kade 1', city: 'Utrecht', postalCode: '3511 AA', country: 'NL' },
      totalMinor: 7499,
      packageCount: 2,
      carrier: 'PostNL',
      trackingNumber: '3SABC123',
      receivedBy: 'J. de Vries',
    });
  });

  it('remembers why a shipment was cancelled', () => {
    expect(replay(shipmentDecider, HISTORY.Cancelled)).toMatchObject({ status: 'Cancelled', cancelReason: 'customer withdrew the order', version: 3 });
  });

  it('keeps picked counts, packages and tracking through a status correction', () => {
    const before = replay(shipmentDecider, HISTORY.Shipped);
    const after = evolve(
      before,
      event('StatusCorrected', { fromStatus: 'Shipped', toStatus: 'Packed', reason: 'label misprinted', correctedBy: 'sam', customerAccountId: 'ACC-9', totalMinor: 7499, currency: 'EUR' }),
    );
    expect(after).toEqual({ ...before, status: 'Packed', version: before.version + 1 });
  });

  it('does not change the state it was given', () => {
    const state = replay(shipmentDecider, [created, released]);
    const copy = structuredClone(state);
    evolve(state, pickedA1);
    expect(state).toEqual(copy);
  });

  it('counts an ItemPicked for an sku it does not know, changing nothing else', () => {
    const state = replay(shipmentDecider, [created, released]);
    const after = evolve(state, event('ItemPicked', { sku: 'SKU-Z', quantity: 1, pickedForSku: 1 }));
    expect(after).toEqual({ ...state, status: 'Picking', version: 3 });
  });

  it('never throws on a malformed event, and still counts it', () => {
    const state = replay(shipmentDecider, [created]);
    const odd = [
      { type: 'ShipmentCreated', data: null },
      { type: 'ShipmentCreated', data: { lines: [null, 7] } },
      { type: 'ItemPicked', data: {} },
      { type: 'StatusCorrected', data: { toStatus: 'Lost' } },
      null,
    ] as unknown as ShipmentEvent[];
    const after = odd.reduce((s, e) => evolve(s, e), state);
    expect(after.version).toBe(1 + odd.length);
  });

  it('counts an event type it does not know (a newer writer) and changes nothing else', () => {
    const state = replay(shipmentDecider, HISTORY.Packed);
    const after = evolve(state, { type: 'ParcelWeighed', data: { grams: 900 } } as unknown as ShipmentEvent);
    expect(after).toEqual({ ...state, version: state.version + 1 });
  });

  it('ignores a correction to a status that does not exist', () => {
    const state = replay(shipmentDecider, HISTORY.Packed);
    const after = evolve(state, { type: 'StatusCorrected', data: { ...HISTORY_CORRECTION, toStatus: 'Lost' } } as unknown as ShipmentEvent);
    expect(after).toEqual({ ...state, version: state.version + 1 });
  });

  it('produces plain JSON that survives a snapshot round trip', () => {
    const state = replay(shipmentDecider, HISTORY.Delivered);
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
  });
});

describe('toEnvelopes', () => {
  it('derives ids from the command and numbers versions on from the state before', () => {
    const state = replay(shipmentDecider, HISTORY.Picked);
    const cmd = command('Pack', { packageCount: 1 }, { commandId: 'c-42', traceId: 't-7', ...as('team-lead', 'tom') });
    const events = decide(cmd, state);
    if (isRejection(events)) throw new Error(events.reason);
    const extra = event('ReadyForShipping', {});
    expect(toEnvelopes(cmd, [...events, extra], state)).toEqual([
      {
        eventId: 'c-42:0',
        aggregateId: '1345693',
        aggregateType: 'Shipment',
        version: 7,
        traceId: 't-7',
        causationId: 'c-42',
        initiatedBy: 'tom',
        timestamp: NOW,
        type: 'ShipmentPacked',
        data: { packageCount: 1 },
      },
      {
        eventId: 'c-42:1',
        aggregateId: '1345693',
        aggregateType: 'Shipment',
        version: 8,
        traceId: 't-7',
        causationId: 'c-42',
        initiatedBy: 'tom',
        timestamp: NOW,
        type: 'ReadyForShipping',
        data: {},
      },
    ]);
  });

  it('makes no envelopes for no events', () => {
    expect(toEnvelopes(command('ReleaseForPicking', {}), [], initialState())).toEqual([]);
  });
});

describe('evolveEnvelope', () => {
  it('applies the event and takes version, id and time from the envelope', () => {
    const cmd = command('CreateShipment', { ...created.data }, { commandId: 'c-1', now: 1_700_000_000_000 });
    const [envelope] = toEnvelopes(cmd, [created], initialState());
    const state = evolveEnvelope(initialState(), envelope);
    expect(state).toEqual({
      ...evolve(initialState(), created),
      shipmentId: '1345693',
      lastEventAt: 1_700_000_000_000,
      version: 1,
      statusTimeline: [{ at: 1_700_000_000_000, status: 'Created' }],
    });
  });

  it('trusts the envelope version over its own count', () => {
    const [envelope] = toEnvelopes(command('ReleaseForPicking', {}), [released], { ...replay(shipmentDecider, [created]), version: 41 });
    expect(evolveEnvelope(replay(shipmentDecider, [created]), envelope).version).toBe(42);
  });

  it('toEvent strips the envelope back to { type, data }', () => {
    const [envelope] = toEnvelopes(command('ReleaseForPicking', {}), [released], replay(shipmentDecider, [created]));
    expect(toEvent(envelope)).toEqual({ type: 'ReleasedForPicking', data: {} });
  });
});
