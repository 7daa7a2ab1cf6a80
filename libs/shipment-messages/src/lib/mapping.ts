import type { CommandOutcome, ShipmentCommandRecord, ShipmentEventRecord } from '@waybill/contracts';
import type { ObservationMark, RecordObservation, Rejection, ShipmentCommand, ShipmentEventEnvelope, ShipmentRole } from '@waybill/shipment-domain';
import { factOf, factToWire, markFromWire, markToWire } from './observation';

/**
 * Fields a newer schema version added that the domain does not produce yet. Avro needs a value
 * for each; these are their declared defaults.
 */
const EVENT_WIRE_DEFAULTS: Partial<Record<ShipmentEventEnvelope['type'], Record<string, null>>> = {
  ShipmentShipped: { serviceLevel: null },
};

/** A domain command as it travels on `shipment.commands` (docs/ARCHITECTURE.md §4 envelope + data). */
export function commandToRecord(command: ShipmentCommand | RecordObservation): ShipmentCommandRecord {
  const m = command.metadata;
  const data = command.type === 'RecordObservation' ? factToWire(command.data) : command.data;
  return {
    type: command.type,
    value: {
      commandId: m.commandId,
      aggregateId: m.shipmentId,
      aggregateType: 'Shipment',
      expectedVersion: m.expectedVersion ?? null,
      traceId: m.traceId,
      causationId: m.causationId ?? null,
      initiatedBy: m.initiatedBy,
      role: m.role,
      timestamp: m.now,
      data,
    },
  } as ShipmentCommandRecord;
}

/** The domain command inside a `shipment.commands` record (a decision to make, or a fact to record). */
export function recordToCommand(record: ShipmentCommandRecord): ShipmentCommand | RecordObservation {
  const v = record.value;
  return {
    type: record.type,
    data: record.type === 'RecordObservation' ? factOf(record.value.data) : v.data,
    metadata: {
      commandId: v.commandId,
      shipmentId: v.aggregateId,
      initiatedBy: v.initiatedBy,
      role: v.role as ShipmentRole,
      traceId: v.traceId,
      ...(v.causationId !== null ? { causationId: v.causationId } : {}),
      ...(v.expectedVersion !== null ? { expectedVersion: v.expectedVersion } : {}),
      now: v.timestamp,
    },
  } as ShipmentCommand | RecordObservation;
}

/** A domain event envelope as it travels on `shipment.events`. */
export function envelopeToRecord(envelope: ShipmentEventEnvelope): ShipmentEventRecord {
  const { type, data, observation, ...meta } = envelope;
  return { type, value: { ...meta, observation: markToWire(observation), data: { ...data, ...EVENT_WIRE_DEFAULTS[type] } } } as ShipmentEventRecord;
}

/** The domain envelope inside a `shipment.events` record; wire-only fields stay on the wire. */
export function recordToEnvelope(record: ShipmentEventRecord): ShipmentEventEnvelope {
  const { data, observation: wireMark, ...meta } = record.value;
  const observation = markFromWire(wireMark);
  const wireOnly = EVENT_WIRE_DEFAULTS[record.type];
  const domainData: Record<string, unknown> = {};
  // Copied field by field rather than spread-then-delete: a delete turns the object into a slow
  // dictionary, and every ledger projection and reducer fold goes through here.
  for (const field in data) if (wireOnly === undefined || !(field in wireOnly)) domainData[field] = (data as Record<string, unknown>)[field];
  return { ...meta, ...(observation ? { observation } : {}), type: record.type, data: domainData } as ShipmentEventEnvelope;
}

function outcomeBase(command: ShipmentCommand | RecordObservation): Omit<CommandOutcome, 'status' | 'version' | 'eventIds' | 'rejection' | 'alert' | 'violation'> {
  const m = command.metadata;
  return {
    commandId: m.commandId,
    aggregateId: m.shipmentId,
    commandType: command.type,
    initiatedBy: m.initiatedBy,
    role: m.role,
    traceId: m.traceId,
    causationId: m.commandId,
    timestamp: m.now,
    // Derived from the command, like event ids, so a replayed command yields the same outcome id.
    eventId: `${m.commandId}:outcome`,
  };
}

/** The answer to a command the rules accepted: the version it reached and the events it caused. */
export function acceptedOutcome(command: ShipmentCommand | RecordObservation, envelopes: readonly ShipmentEventEnvelope[], versionBefore: number): CommandOutcome {
  return {
    ...outcomeBase(command),
    status: 'Accepted',
    version: envelopes.length ? envelopes[envelopes.length - 1].version : versionBefore,
    eventIds: envelopes.map((e) => e.eventId),
    rejection: null,
    alert: false,
    violation: null,
  };
}

/**
 * The answer to a recorded observation: always Accepted (a fact is never refused); when the state
 * machine forbids it, `alert` and the rule it broke, naming who did it and where. Like every
 * outcome it carries its command's time, here when the fact happened; when Waybill recorded it is
 * the record's Kafka timestamp, which the ledger orders alerts by (an alert about a fact of last
 * week, imported today, is news today).
 */
export function observedOutcome(command: RecordObservation, envelopes: readonly ShipmentEventEnvelope[], versionBefore: number, mark: ObservationMark): CommandOutcome {
  const accepted = acceptedOutcome(command, envelopes, versionBefore);
  const violation = mark.violation;
  if (!violation) return accepted;
  return { ...accepted, alert: true, violation: { ...violation, source: mark.source, sourceId: mark.sourceId, observedBy: mark.observedBy } };
}

/** The answer to a command the rules refused; `alert` marks attempts supervisors must see at once. */
export function rejectedOutcome(command: ShipmentCommand, rejection: Rejection, alert: boolean): CommandOutcome {
  return {
    ...outcomeBase(command),
    status: 'Rejected',
    version: rejection.currentVersion,
    eventIds: [],
    rejection: {
      code: rejection.code,
      reason: rejection.reason,
      currentStatus: rejection.currentStatus,
      allowedCommands: [...rejection.allowedCommands],
      fieldErrors: rejection.fieldErrors ?? [],
    },
    alert,
    violation: null,
  };
}
