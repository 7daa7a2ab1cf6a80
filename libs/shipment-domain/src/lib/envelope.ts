import type { CommandMetadata } from './commands';
import type { ShipmentEvent } from './events';
import { evolve } from './evolve';
import type { LifecycleStatus, ShipmentState, StatusPeriod } from './state';
import { STATUS_TIMELINE_LENGTH } from './state';

/** A rule an observed fact broke: recorded anyway, and raised as an alert. */
export interface RuleViolation {
  /** The code Waybill's own command would have been refused with. */
  code: 'INVALID_TRANSITION' | 'VALIDATION' | 'VERSION_CONFLICT';
  /** One sentence for a person. */
  rule: string;
  /** The status in effect when the fact happened. */
  fromStatus: LifecycleStatus;
  /** e.g. `Packed → PendingPicking`. */
  transition: string;
}

/** What marks an event as a recorded observation (docs/ARCHITECTURE.md §11) rather than a decision. */
export interface ObservationMark {
  source: string;
  sourceId: string;
  process?: string;
  /** Who did it in the source, as the source names them; `initiatedBy` is the integration. */
  observedBy: string;
  violation?: RuleViolation;
}

/** What docs/ARCHITECTURE.md §4 puts around every event. */
export interface EventEnvelopeMetadata {
  /** `${commandId}:${index}`: derived from the cause, so a retried command makes the same ids. */
  eventId: string;
  aggregateId: string;
  aggregateType: 'Shipment';
  /** The shipment's version after this event: 1, 2, 3 … with no gaps. */
  version: number;
  traceId: string;
  /** The command that caused this event. */
  causationId: string;
  initiatedBy: string;
  /** Epoch ms: when it happened in the business (the command's `metadata.now`, an observation's occurredAt). */
  timestamp: number;
  /** Present when the event records what a system of record reported. */
  observation?: ObservationMark;
}

/** An event as it travels on `shipment.events`; narrow it by `type` like a bare event. */
export type ShipmentEventEnvelope = EventEnvelopeMetadata & ShipmentEvent;

/**
 * Wraps the events `decide` (or `decideObservation`) returned for a command, numbering them after
 * `stateBefore.version`; `observation` marks each as a recorded fact.
 */
export function toEnvelopes(
  command: { metadata: CommandMetadata },
  events: readonly ShipmentEvent[],
  stateBefore: ShipmentState,
  observation?: ObservationMark,
): ShipmentEventEnvelope[] {
  const { commandId, shipmentId, traceId, initiatedBy, now } = command.metadata;
  return events.map(
    (event, index) =>
      ({
        eventId: `${commandId}:${index}`,
        aggregateId: shipmentId,
        aggregateType: 'Shipment',
        version: stateBefore.version + index + 1,
        traceId,
        causationId: commandId,
        initiatedBy,
        timestamp: now,
        ...(observation ? { observation } : {}),
        type: event.type,
        data: event.data,
      }) as ShipmentEventEnvelope,
  );
}

/** The bare `{ type, data }` inside an envelope. */
export function toEvent(envelope: ShipmentEventEnvelope): ShipmentEvent {
  return { type: envelope.type, data: envelope.data } as ShipmentEvent;
}

/** The status in effect at business time `at`: `None` before the first period. */
export function statusAt(state: ShipmentState, at: number): LifecycleStatus {
  const timeline = state.statusTimeline;
  if (!timeline || timeline.length === 0) return state.status;
  let status: LifecycleStatus = at < timeline[0].at && timeline.length < STATUS_TIMELINE_LENGTH ? 'None' : timeline[0].status;
  for (const period of timeline) if (period.at <= at) status = period.status;
  return status;
}

/**
 * The one rule for a late fact: an observed one whose business time is before `latestBefore`, the
 * latest business time of the events recorded before it. Only observed facts are placed by their
 * own time; Waybill's own decisions are never late (a clock that stepped back does not move one
 * before an earlier version). The status timeline here and the ledger's business axis both use it.
 */
export function arrivesLate(event: { timestamp: number; observation?: unknown }, latestBefore: number | undefined): boolean {
  return event.observation != null && latestBefore !== undefined && event.timestamp < latestBefore;
}

/** Is this an observed fact from before the latest business time the shipment has (`arrivesLate`)? */
export function isLateObservation(state: ShipmentState, envelope: Pick<ShipmentEventEnvelope, 'timestamp' | 'observation'>): boolean {
  return arrivesLate(envelope, state.lastEventAt);
}

function withPeriod(timeline: readonly StatusPeriod[], period: StatusPeriod): StatusPeriod[] {
  const at = timeline.findIndex((p) => p.at > period.at);
  const merged = at === -1 ? [...timeline, period] : [...timeline.slice(0, at), period, ...timeline.slice(at)];
  const collapsed = merged.filter((p, i) => i === 0 || p.status !== merged[i - 1].status);
  return collapsed.slice(-STATUS_TIMELINE_LENGTH);
}

/**
 * `evolve` for envelopes (restoring from `shipment.events`): applies the event, then takes the
 * version, aggregate id and time from the envelope, which is the record of what happened. The
 * status follows business time: a late observed fact is placed in the status timeline where it
 * happened, and the running status stays what the latest fact made it. Waybill's own decisions are
 * never late: they count from the later of their own time and the latest business time before them.
 */
export function evolveEnvelope(state: ShipmentState, envelope: ShipmentEventEnvelope): ShipmentState {
  const next = evolve(state, toEvent(envelope));
  const version = Number.isSafeInteger(envelope.version) ? envelope.version : next.version;
  const stamped: ShipmentState = { ...next, version };
  if (typeof envelope.aggregateId === 'string') stamped.shipmentId = envelope.aggregateId;
  if (Number.isFinite(envelope.timestamp)) {
    const latestBefore = state.lastEventAt ?? -Infinity;
    stamped.lastEventAt = Math.max(latestBefore, envelope.timestamp);
    const timeline = state.statusTimeline ?? [];
    const last = timeline[timeline.length - 1];
    if (isLateObservation(state, envelope)) {
      stamped.statusTimeline = withPeriod(timeline, { at: envelope.timestamp, status: next.status });
      stamped.status = state.status;
    } else if (last === undefined || last.status !== next.status) {
      stamped.statusTimeline = withPeriod(timeline, { at: Math.max(envelope.timestamp, latestBefore), status: next.status });
    }
  }
  return stamped;
}
