import type { CommandMetadata, ObservedFactKind, ShipmentCommand } from './commands';
import { decide } from './decide';
import type { ObservationMark, RuleViolation } from './envelope';
import { statusAt } from './envelope';
import { isRejection, type Rejection } from './errors';
import type { ShipmentEvent } from './events';
import type { LifecycleStatus, ShipmentState, ShipmentStatus } from './state';
import { allowedCommands, nextStatus, targetStatus, type TableCommandType } from './transitions';

/**
 * One fact as a system of record reports it. Which optional fields matter depends on `kind`
 * (`validateObservedFact` says which are missing). The business time is the command's `now`.
 */
export interface ObservedFact {
  source: string;
  /** The source's own id for the fact; (source, sourceId) is recorded once. */
  sourceId: string;
  /** The source's process (an order flow, a batch); all its facts share one traceId. */
  process?: string;
  /** Who did it in the source, as the source names them. */
  observedBy: string;
  kind: ObservedFactKind;
  toStatus?: ShipmentStatus;
  sku?: string;
  quantity?: number;
  packageCount?: number;
  carrier?: string;
  trackingNumber?: string;
  receivedBy?: string;
  reason?: string;
  order?: Extract<ShipmentCommand, { type: 'CreateShipment' }>['data'];
}

/**
 * Records an observed fact on its shipment: never refused. Metadata as for commands; `now` is the
 * business time the fact happened, `initiatedBy` the integration that reported it.
 */
export interface RecordObservation {
  type: 'RecordObservation';
  data: ObservedFact;
  metadata: CommandMetadata;
}

/** What recording one fact means: the events (at least one) and the mark they carry. */
export interface ObservationDecision {
  events: ShipmentEvent[];
  mark: ObservationMark;
}

/** The table command whose rules a fact is judged by, as if an operator had sent it. */
const JUDGED_AS = {
  Created: 'CreateShipment',
  LinePicked: 'PickItem',
  Packed: 'Pack',
  Shipped: 'Ship',
  Delivered: 'ConfirmDelivery',
  Cancelled: 'Cancel',
} as const satisfies Record<Exclude<ObservedFactKind, 'StatusChanged'>, TableCommandType>;

function text(value: string | undefined): string {
  return value ?? '';
}

function count(value: number | undefined): number {
  return value ?? 0;
}

/** The events that record `fact` on `state`, whatever the rules say. */
function factEvents(fact: ObservedFact, state: ShipmentState): ShipmentEvent[] {
  const { customerAccountId, totalMinor, currency } = state;
  switch (fact.kind) {
    case 'Created': {
      const order = fact.order;
      const lines = order?.lines.map(({ sku, quantity, unitPriceMinor }) => ({ sku, quantity, unitPriceMinor })) ?? [];
      const total = lines.reduce((sum, line) => sum + line.quantity * line.unitPriceMinor, 0);
      const destination = order?.destination ?? state.destination;
      return [
        {
          type: 'ShipmentCreated',
          data: {
            orderId: text(order?.orderId),
            customerAccountId: text(order?.customerAccountId),
            currency: text(order?.currency),
            lines,
            destination: { name: destination.name, street: destination.street, city: destination.city, postalCode: destination.postalCode, country: destination.country },
            totalMinor: total,
          },
        },
      ];
    }
    case 'LinePicked': {
      const sku = text(fact.sku);
      const quantity = count(fact.quantity);
      const picked = state.lines.find((line) => line.sku === sku)?.picked ?? 0;
      return [{ type: 'ItemPicked', data: { sku, quantity, pickedForSku: picked + quantity } }];
    }
    case 'Packed':
      return [{ type: 'ShipmentPacked', data: { packageCount: count(fact.packageCount) } }];
    case 'Shipped':
      return [{ type: 'ShipmentShipped', data: { carrier: text(fact.carrier), trackingNumber: text(fact.trackingNumber), customerAccountId, totalMinor, currency } }];
    case 'Delivered':
      return [{ type: 'ShipmentDelivered', data: { receivedBy: text(fact.receivedBy) } }];
    case 'Cancelled':
      // ShipmentCancelled names an existing status; cancelling one Waybill never saw is a status change.
      return state.status === 'None'
        ? [{ type: 'StatusObserved', data: { fromStatus: 'None', toStatus: 'Cancelled', customerAccountId, totalMinor, currency } }]
        : [{ type: 'ShipmentCancelled', data: { reason: text(fact.reason), fromStatus: state.status } }];
    case 'StatusChanged':
      return [{ type: 'StatusObserved', data: { fromStatus: state.status, toStatus: fact.toStatus ?? 'Created', customerAccountId, totalMinor, currency } }];
  }
}

/** The status a fact moves the shipment to: the table's target of the command it is judged as. */
function factTarget(fact: ObservedFact, state: ShipmentState): LifecycleStatus {
  return fact.kind === 'StatusChanged' ? (fact.toStatus ?? state.status) : targetStatus(JUDGED_AS[fact.kind]);
}

/** What `decide` says of `type` with `data` sent by an operator on `state`: undefined when it would accept it. */
function refusal(type: TableCommandType, data: object, state: ShipmentState, metadata: CommandMetadata): Rejection | undefined {
  const asOperator = { type, data, metadata: { ...metadata, role: 'team-lead', expectedVersion: undefined } } as unknown as ShipmentCommand;
  const decision = decide(asOperator, state);
  return isRejection(decision) ? decision : undefined;
}

/**
 * A status change is allowed when some cell of the table leads there and, when the only cell is
 * CompletePicking (the one guard a change without data can be held to), `decide` would complete it.
 */
function judgeStatusChange(from: LifecycleStatus, to: ShipmentStatus, state: ShipmentState, metadata: CommandMetadata): string | undefined {
  if (from === 'None' || from === to) return undefined;
  const via = allowedCommands(from).filter((type): type is TableCommandType => type !== 'CorrectStatus' && nextStatus(from, type as TableCommandType) === to);
  if (via.length === 0) {
    const reachable = [...new Set(allowedCommands(from).flatMap((type) => (type === 'CorrectStatus' ? [] : [nextStatus(from, type as TableCommandType)])))];
    const onward = reachable.length > 0 ? `from ${from} it leads only to ${reachable.join(', ')}` : `${from} is terminal`;
    return `The state machine has no transition from ${from} to ${to}; ${onward} (a supervisor's StatusCorrected is the only other way).`;
  }
  return via.every((type) => type === 'CompletePicking') ? refusal('CompletePicking', {}, state, metadata)?.reason : undefined;
}

/** The rule `fact` breaks when it happened on a shipment in `status`, or undefined. */
function judge(fact: ObservedFact, state: ShipmentState, metadata: CommandMetadata): RuleViolation | undefined {
  const fromStatus = state.status;
  const transition = `${fromStatus} → ${factTarget(fact, state)}`;
  if (fact.kind === 'StatusChanged') {
    const rule = fact.toStatus ? judgeStatusChange(fromStatus, fact.toStatus, state, metadata) : undefined;
    return rule ? { code: 'INVALID_TRANSITION', rule, fromStatus, transition } : undefined;
  }
  // A fact about a shipment Waybill never saw starts it: the source created it where Waybill could not see.
  if (fromStatus === 'None' && fact.kind !== 'Created') return undefined;
  const decision = refusal(JUDGED_AS[fact.kind], { ...fact, ...(fact.kind === 'Created' ? fact.order : {}) }, state, metadata);
  if (!decision) return undefined;
  const code = decision.code === 'VALIDATION' || decision.code === 'VERSION_CONFLICT' ? decision.code : 'INVALID_TRANSITION';
  return { code, rule: decision.reason, fromStatus, transition };
}

/**
 * Decides what recording one observed fact means: always events (a fact already happened and is
 * never refused), marked with its source and, when the state machine forbids it, the rule it
 * broke. A late fact (`arrivesLate`: before the latest business time the shipment has) is judged against the
 * status in effect when it happened. Pure and total, like `decide`; the fact must have passed
 * `validateObservedFact`.
 */
export function decideObservation(command: RecordObservation, state: ShipmentState): ObservationDecision {
  const fact = command.data;
  const judgedState: ShipmentState = { ...state, status: statusAt(state, command.metadata.now) };
  const violation = judge(fact, judgedState, command.metadata);
  const mark: ObservationMark = {
    source: fact.source,
    sourceId: fact.sourceId,
    ...(fact.process !== undefined ? { process: fact.process } : {}),
    observedBy: fact.observedBy,
    ...(violation ? { violation } : {}),
  };
  return { events: factEvents(fact, judgedState), mark };
}
