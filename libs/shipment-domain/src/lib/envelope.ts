import type { ShipmentCommand } from './commands';
import type { ShipmentEvent } from './events';
import { evolve } from './evolve';
import type { ShipmentState } from './state';

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
  /** Epoch ms, the command's `metadata.now`. */
  timestamp: number;
}

/** An event as it travels on `shipment.events`; narrow it by `type` like a bare event. */
export type ShipmentEventEnvelope = EventEnvelopeMetadata & ShipmentEvent;

/** Wraps the events `decide` returned for `command`, numbering them after `stateBefore.version`. */
export function toEnvelopes(command: ShipmentCommand, events: readonly ShipmentEvent[], stateBefore: ShipmentState): ShipmentEventEnvelope[] {
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
        type: event.type,
        data: event.data,
      }) as ShipmentEventEnvelope,
  );
}

/** The bare `{ type, data }` inside an envelope. */
export function toEvent(envelope: ShipmentEventEnvelope): ShipmentEvent {
  return { type: envelope.type, data: envelope.data } as ShipmentEvent;
}

/**
 * `evolve` for envelopes (restoring from `shipment.events`): applies the event, then takes the
 * version, aggregate id and time from the envelope, which is the record of what happened.
 */
export function evolveEnvelope(state: ShipmentState, envelope: ShipmentEventEnvelope): ShipmentState {
  const next = evolve(state, toEvent(envelope));
  const version = Number.isSafeInteger(envelope.version) ? envelope.version : next.version;
  const stamped: ShipmentState = { ...next, version };
  if (typeof envelope.aggregateId === 'string') stamped.shipmentId = envelope.aggregateId;
  if (Number.isFinite(envelope.timestamp)) stamped.lastEventAt = envelope.timestamp;
  return stamped;
}
