import { createHash } from 'node:crypto';
import type { Observation, ObservationMark as WireObservationMark, RecordObservation as RecordObservationRecord } from '@waybill/contracts';
import { validateObservedFact, type FieldError, type LifecycleStatus, type ObservationMark, type ObservedFact, type RecordObservation, type RuleViolation } from '@waybill/shipment-domain';
import { textCharacterProblem } from '@waybill/util';
import { SHIPMENT_ID_PATTERN } from './read-token';

/**
 * A UUID that is a function of `parts` (RFC 9562 version 8, name-derived): the same cause always
 * gets the same id, so a retried request or a re-sent fact is recognised however long ago the
 * first one was.
 */
export function nameDerivedUuid(parts: readonly string[]): string {
  const hex = createHash('sha256').update(JSON.stringify(parts)).digest('hex');
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The command id that records (source, sourceId): one per fact, for all time. */
export const observationCommandId = (source: string, sourceId: string): string => nameDerivedUuid(['observation', source, sourceId]);

/** Every fact of one source process shares a trace; a fact without a process is its own trace. */
export const observationTraceId = (source: string, process: string | null | undefined, sourceId: string): string =>
  nameDerivedUuid(process ? ['observation-process', source, process] : ['observation', source, sourceId]);

function present<T>(value: T | null | undefined): T | undefined {
  return value === null ? undefined : value;
}

/** The fact inside an Observation (or a RecordObservation's data), nulls dropped. */
export function factOf(value: RecordObservationRecord['data']): ObservedFact {
  const fact: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(value)) if (field !== null && field !== undefined) fact[name] = field;
  return fact as unknown as ObservedFact;
}

const FACT_FIELDS = ['source', 'sourceId', 'process', 'observedBy', 'kind', 'toStatus', 'sku', 'quantity', 'packageCount', 'carrier', 'trackingNumber', 'receivedBy', 'reason', 'order'] as const;

/** The wire form of a fact: every optional field present, null when absent. */
export function factToWire(fact: ObservedFact): RecordObservationRecord['data'] {
  const wire: Record<string, unknown> = {};
  for (const name of FACT_FIELDS) wire[name] = (fact as unknown as Record<string, unknown>)[name] ?? null;
  return wire as unknown as RecordObservationRecord['data'];
}

/**
 * The command that records an observation: ids from (source, sourceId) and the source process,
 * time from when it happened, `initiatedBy` the integration that reported it.
 */
export function observationToCommand(observation: Observation): RecordObservation {
  const { shipmentId, occurredAt, reportedBy, ...wireFact } = observation;
  const fact = factOf(wireFact);
  return {
    type: 'RecordObservation',
    data: fact,
    metadata: {
      commandId: observationCommandId(fact.source, fact.sourceId),
      shipmentId,
      initiatedBy: reportedBy,
      role: 'integration',
      traceId: observationTraceId(fact.source, fact.process, fact.sourceId),
      now: occurredAt,
    },
  };
}

/** An Observation as it travels on `shipment.observations`. */
export function observationRecord(fact: ObservedFact, shipmentId: string, occurredAt: number, reportedBy: string): Observation {
  const { source, sourceId, process, observedBy, kind, toStatus, sku, quantity, packageCount, carrier, trackingNumber, receivedBy, reason, order } = factToWire(fact);
  return { shipmentId, source, sourceId, process, observedBy, kind, toStatus, sku, quantity, packageCount, carrier, trackingNumber, receivedBy, reason, order, occurredAt, reportedBy };
}

/** The wire form of an event's observation mark. */
export function markToWire(mark: ObservationMark | undefined): WireObservationMark | null {
  if (!mark) return null;
  return { source: mark.source, sourceId: mark.sourceId, process: mark.process ?? null, observedBy: mark.observedBy, violation: mark.violation ?? null };
}

/** The domain form of a wire mark (null when the event is Waybill's own decision). */
export function markFromWire(wire: WireObservationMark | null | undefined): ObservationMark | undefined {
  if (!wire) return undefined;
  const violation = present(wire.violation);
  return {
    source: wire.source,
    sourceId: wire.sourceId,
    ...(wire.process ? { process: wire.process } : {}),
    observedBy: wire.observedBy,
    ...(violation ? { violation: { ...violation, code: violation.code as RuleViolation['code'], fromStatus: violation.fromStatus as LifecycleStatus } } : {}),
  };
}

/**
 * Every problem with an observation that can be seen without its shipment: the fact's own checks
 * plus the shipment id and the business time. What makes a 400 over HTTP, a dead letter on the
 * topic and a bad row in an import.
 */
export function observationProblems(observation: Partial<Record<keyof Observation, unknown>>): FieldError[] {
  const problems: FieldError[] = [];
  const idProblem = typeof observation.shipmentId === 'string' && observation.shipmentId.trim() !== '' ? textCharacterProblem(observation.shipmentId) : 'is required and must not be blank';
  if (idProblem) problems.push({ field: 'shipmentId', message: idProblem });
  else if (!SHIPMENT_ID_PATTERN.test(observation.shipmentId as string)) problems.push({ field: 'shipmentId', message: `must match ${SHIPMENT_ID_PATTERN.source}` });
  if (!(Number.isSafeInteger(observation.occurredAt) && (observation.occurredAt as number) >= 0)) {
    problems.push({ field: 'occurredAt', message: 'must be an instant (epoch milliseconds, or an ISO 8601 time over HTTP)' });
  }
  const fact = Object.fromEntries(Object.entries(observation).filter(([, value]) => value !== null && value !== undefined));
  return [...problems, ...validateObservedFact(fact)];
}
