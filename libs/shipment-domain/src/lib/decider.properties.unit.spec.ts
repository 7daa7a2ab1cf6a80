import { replay } from '@waybill/util';
import fc from 'fast-check';
import {
  SHIPMENT_COMMAND_TYPES,
  SHIPMENT_ROLES,
  type CommandMetadata,
  type ShipmentCommand,
  type ShipmentCommandType,
  type ShipmentLine,
  type ShipmentRole,
} from './commands';
import { decide } from './decide';
import { shipmentDecider } from './decider';
import { evolveEnvelope, toEnvelopes, toEvent, type ShipmentEventEnvelope } from './envelope';
import { isRejection, raisesAlert, type Rejection } from './errors';
import { SHIPMENT_EVENT_TYPES, type ShipmentEvent } from './events';
import { evolve } from './evolve';
import { HISTORY } from './fixtures.spec';
import { SHIPMENT_STATUSES, initialState, type ShipmentState } from './state';

// Random command sequences, a mix of sensible next steps and anything at all, sent by random roles
// with random (sometimes stale) versions. The invariants below must hold after every step.

const OPERATOR_ROLES: ShipmentRole[] = ['associate', 'team-lead', 'supervisor'];
const TERMINAL = ['Delivered', 'Cancelled'];

interface Step {
  pick: 'next' | ShipmentCommandType;
  role: ShipmentRole;
  skuIndex: number;
  quantity: number;
  toStatus: string;
  reason: string;
  packageCount: number;
  version: 'none' | 'current' | 'stale';
}

const stepArb: fc.Arbitrary<Step> = fc.record({
  pick: fc.oneof({ weight: 4, arbitrary: fc.constant('next' as const) }, { weight: 2, arbitrary: fc.constantFrom(...SHIPMENT_COMMAND_TYPES) }),
  role: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...OPERATOR_ROLES) }, { weight: 1, arbitrary: fc.constantFrom<ShipmentRole>('viewer', 'finance') }),
  skuIndex: fc.nat({ max: 3 }),
  quantity: fc.integer({ min: -1, max: 4 }),
  toStatus: fc.constantFrom<string>(...SHIPMENT_STATUSES, 'None', 'Lost'),
  reason: fc.constantFrom('', '   ', 'damaged in the aisle', 'customer called'),
  packageCount: fc.integer({ min: 0, max: 3 }),
  version: fc.oneof(
    { weight: 5, arbitrary: fc.constant('none' as const) },
    { weight: 3, arbitrary: fc.constant('current' as const) },
    { weight: 1, arbitrary: fc.constant('stale' as const) },
  ),
});

const linesArb: fc.Arbitrary<ShipmentLine[]> = fc.uniqueArray(
  fc.record({ sku: fc.constantFrom('SKU-A', 'SKU-B', 'SKU-C'), quantity: fc.integer({ min: 1, max: 3 }), unitPriceMinor: fc.integer({ min: 0, max: 5000 }) }),
  { minLength: 1, maxLength: 3, selector: (line) => line.sku },
);

/** The step a warehouse would naturally take next, written independently of TRANSITIONS. */
function naturalNext(state: ShipmentState): ShipmentCommandType {
  switch (state.status) {
    case 'None':
      return 'CreateShipment';
    case 'Created':
      return 'ReleaseForPicking';
    case 'PendingPicking':
      return 'PickItem';
    case 'Picking':
      return state.lines.some((l) => l.picked < l.ordered) ? 'PickItem' : 'CompletePicking';
    case 'Picked':
      return 'Pack';
    case 'Packed':
      return 'MarkReadyForShipping';
    case 'ReadyForShipping':
      return 'Ship';
    case 'Shipped':
      return 'ConfirmDelivery';
    default:
      return 'CorrectStatus';
  }
}

function buildCommand(step: Step, state: ShipmentState, lines: ShipmentLine[], index: number): ShipmentCommand {
  const type = step.pick === 'next' ? naturalNext(state) : step.pick;
  const metadata: CommandMetadata = {
    commandId: `cmd-${index}`,
    shipmentId: 'S-1',
    initiatedBy: `${step.role}-${index % 3}`,
    role: step.role,
    traceId: 'trace-1',
    now: 1_700_000_000_000 + index * 1000,
    ...(step.version === 'current' ? { expectedVersion: state.version } : {}),
    ...(step.version === 'stale' ? { expectedVersion: Math.max(0, state.version - 1 - (index % 2)) } : {}),
  };
  // A "next" pick goes for a line that is still short, so that sequences get somewhere.
  const short = state.lines.find((l) => l.picked < l.ordered);
  const sku = step.pick === 'next' && short ? short.sku : ([...lines.map((l) => l.sku), 'SKU-Z'][step.skuIndex] ?? 'SKU-Z');
  const quantity = step.pick === 'next' && short ? Math.min(step.quantity, short.ordered - short.picked) : step.quantity;
  const data: Record<ShipmentCommandType, unknown> = {
    CreateShipment: {
      orderId: 'O-1',
      customerAccountId: 'ACC-1',
      currency: 'EUR',
      lines,
      destination: { name: 'N', street: 'S', city: 'C', postalCode: 'P', country: 'NL' },
    },
    ReleaseForPicking: {},
    PickItem: { sku, quantity },
    CompletePicking: {},
    Pack: { packageCount: step.packageCount },
    MarkReadyForShipping: {},
    Ship: { carrier: 'DHL', trackingNumber: step.reason },
    ConfirmDelivery: { receivedBy: step.reason },
    Cancel: { reason: step.reason },
    CorrectStatus: { toStatus: step.toStatus, reason: step.reason },
  };
  return { type, data: data[type], metadata } as ShipmentCommand;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

interface Entry {
  command: ShipmentCommand;
  before: ShipmentState;
  outcome: readonly ShipmentEvent[] | Rejection;
}

function run(lines: ShipmentLine[], steps: Step[]) {
  let state = initialState();
  const log: Entry[] = [];
  const envelopes: ShipmentEventEnvelope[] = [];
  steps.forEach((step, index) => {
    // Frozen inputs: any attempt by decide to mutate them throws (modules run in strict mode).
    const command = deepFreeze(buildCommand(step, state, lines, index));
    const before = deepFreeze(state);
    const outcome = decide(command, before);
    log.push({ command, before, outcome });
    if (!isRejection(outcome)) {
      const stamped = toEnvelopes(command, outcome, before);
      envelopes.push(...stamped);
      state = stamped.reduce(evolveEnvelope, before);
    }
  });
  return { state, log, envelopes };
}

const scenario = fc.tuple(linesArb, fc.array(stepArb, { minLength: 1, maxLength: 60, size: 'medium' }));

describe('Any sequence of commands', () => {
  it('reaches deep into the lifecycle often enough for the properties to mean something', () => {
    const reached = new Set<string>();
    fc.assert(
      fc.property(scenario, ([lines, steps]) => {
        for (const entry of run(lines, steps).log) reached.add(entry.before.status);
      }),
      { numRuns: 300 },
    );
    expect([...reached].sort()).toEqual(['None', ...SHIPMENT_STATUSES].sort());
  });

  it('numbers events 1, 2, 3 … without gaps, with unique ids, and folds to the same state from bare events', () => {
    fc.assert(
      fc.property(scenario, ([lines, steps]) => {
        const { state, envelopes } = run(lines, steps);
        expect(envelopes.map((e) => e.version)).toEqual(envelopes.map((_, i) => i + 1));
        expect(new Set(envelopes.map((e) => e.eventId)).size).toBe(envelopes.length);
        expect(state.version).toBe(envelopes.length);
        const { shipmentId: _id, lastEventAt: _at, statusTimeline: _timeline, ...fromEnvelopes } = state;
        expect(replay(shipmentDecider, envelopes.map(toEvent))).toEqual(fromEnvelopes);
      }),
    );
  });

  it('never picks more of an sku than was ordered', () => {
    fc.assert(
      fc.property(scenario, ([lines, steps]) => {
        const { state, envelopes } = run(lines, steps);
        for (const line of state.lines) expect(line.picked).toBeLessThanOrEqual(line.ordered);
        for (const e of envelopes) {
          if (e.type !== 'ItemPicked') continue;
          const ordered = lines.find((l) => l.sku === e.data.sku)?.quantity;
          expect(e.data.pickedForSku).toBeLessThanOrEqual(ordered ?? -1);
        }
      }),
    );
  });

  it('keeps Delivered and Cancelled terminal unless a supervisor corrects them', () => {
    fc.assert(
      fc.property(scenario, ([lines, steps]) => {
        for (const { before, outcome, command } of run(lines, steps).log) {
          if (!TERMINAL.includes(before.status) || isRejection(outcome)) continue;
          expect(outcome.map((e) => e.type)).toEqual(['StatusCorrected']);
          expect(command.metadata.role).toBe('supervisor');
        }
      }),
    );
  });

  it('only ever records corrections with a reason, by a supervisor, to a different real status', () => {
    fc.assert(
      fc.property(scenario, ([lines, steps]) => {
        for (const { before, outcome, command } of run(lines, steps).log) {
          if (isRejection(outcome)) continue;
          for (const e of outcome) {
            if (e.type !== 'StatusCorrected') continue;
            expect(e.data.reason.trim()).not.toBe('');
            expect(command.metadata.role).toBe('supervisor');
            expect(e.data.correctedBy).toBe(command.metadata.initiatedBy);
            expect(e.data.fromStatus).toBe(before.status);
            expect(SHIPMENT_STATUSES).toContain(e.data.toStatus);
            expect(e.data.toStatus).not.toBe(before.status);
          }
        }
      }),
    );
  });

  it('accepts nothing from viewers or finance, and nothing out of date', () => {
    fc.assert(
      fc.property(scenario, ([lines, steps]) => {
        for (const { before, outcome, command } of run(lines, steps).log) {
          if (isRejection(outcome)) continue;
          expect(OPERATOR_ROLES).toContain(command.metadata.role);
          if (command.metadata.expectedVersion !== undefined) expect(command.metadata.expectedVersion).toBe(before.version);
          expect(outcome).toHaveLength(1);
        }
      }),
    );
  });

  it('describes every rejection against the state it saw, with field errors exactly for VALIDATION', () => {
    fc.assert(
      fc.property(scenario, ([lines, steps]) => {
        for (const { before, outcome } of run(lines, steps).log) {
          if (!isRejection(outcome)) continue;
          expect(outcome.currentStatus).toBe(before.status);
          expect(outcome.currentVersion).toBe(before.version);
          expect(outcome.reason.trim().length).toBeGreaterThan(10);
          expect(raisesAlert(outcome)).toBe(outcome.code === 'INVALID_TRANSITION' || outcome.code === 'FORBIDDEN');
          expect(outcome.fieldErrors !== undefined && outcome.fieldErrors.length > 0).toBe(outcome.code === 'VALIDATION');
        }
      }),
    );
  });

  it('decides deterministically: the same command on the same state gives the same outcome', () => {
    fc.assert(
      fc.property(scenario, ([lines, steps]) => {
        for (const { before, outcome, command } of run(lines, steps).log) {
          expect(decide(structuredClone(command), structuredClone(before))).toEqual(outcome);
        }
      }),
    );
  });
});

describe('Any input at all', () => {
  const anyState = fc.constantFrom(...Object.values(HISTORY)).map((events) => replay(shipmentDecider, events));

  it('decide never throws, whatever the data', () => {
    fc.assert(
      fc.property(anyState, fc.constantFrom<string>(...SHIPMENT_COMMAND_TYPES, 'Nope'), fc.anything(), fc.constantFrom(...SHIPMENT_ROLES), (state, type, data, role) => {
        const command = { type, data, metadata: { commandId: 'c', shipmentId: 's', initiatedBy: 'u', role, traceId: 't', now: 1 } } as ShipmentCommand;
        const outcome = decide(command, state);
        expect(Array.isArray(outcome) || isRejection(outcome)).toBe(true);
      }),
    );
  });

  it('evolve never throws and counts every event, whatever the events', () => {
    const eventArb = fc.record({ type: fc.constantFrom<string>(...SHIPMENT_EVENT_TYPES, 'Unknown'), data: fc.anything() }) as fc.Arbitrary<ShipmentEvent>;
    fc.assert(
      fc.property(anyState, fc.array(eventArb, { maxLength: 20 }), (state, events) => {
        expect(events.reduce(evolve, state).version).toBe(state.version + events.length);
      }),
    );
  });
});
