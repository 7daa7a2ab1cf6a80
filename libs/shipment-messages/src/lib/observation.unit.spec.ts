import { decideObservation, initialState, toEnvelopes } from '@waybill/shipment-domain';
import { commandToRecord, envelopeToRecord, observedOutcome, recordToCommand, recordToEnvelope } from './mapping';
import { nameDerivedUuid, observationCommandId, observationProblems, observationRecord, observationToCommand, observationTraceId } from './observation';

const occurredAt = Date.UTC(2026, 11, 1, 19, 5);
const moveBack = observationRecord(
  { source: 'legacy-wms', sourceId: 'wms-6', process: 'order-flow-1345693', observedBy: 'Walter Chin', kind: 'StatusChanged', toStatus: 'PendingPicking' },
  '1345693',
  occurredAt,
  'legacy-wms-feed',
);

describe('observations on the wire', () => {
  it('derive their ids from the source: one command per (source, sourceId), one trace per source process', () => {
    expect(observationCommandId('legacy-wms', 'wms-6')).toBe(observationCommandId('legacy-wms', 'wms-6'));
    expect(observationCommandId('legacy-wms', 'wms-6')).not.toBe(observationCommandId('other-wms', 'wms-6'));
    expect(observationTraceId('legacy-wms', 'flow-1', 'a')).toBe(observationTraceId('legacy-wms', 'flow-1', 'b'));
    expect(observationTraceId('legacy-wms', null, 'a')).not.toBe(observationTraceId('legacy-wms', null, 'b'));
    expect(nameDerivedUuid(['x'])).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('become a RecordObservation by the integration that reported them, at the business time, and travel both ways unchanged', () => {
    const command = observationToCommand(moveBack);
    expect(command).toEqual({
      type: 'RecordObservation',
      data: { source: 'legacy-wms', sourceId: 'wms-6', process: 'order-flow-1345693', observedBy: 'Walter Chin', kind: 'StatusChanged', toStatus: 'PendingPicking' },
      metadata: { commandId: observationCommandId('legacy-wms', 'wms-6'), shipmentId: '1345693', initiatedBy: 'legacy-wms-feed', role: 'integration', traceId: observationTraceId('legacy-wms', 'order-flow-1345693', 'wms-6'), now: occurredAt },
    });
    const record = commandToRecord(command);
    expect(record.value.data).toMatchObject({ sku: null, order: null, toStatus: 'PendingPicking' });
    expect(recordToCommand(record)).toEqual(command);
  });

  it('mark the events they record, and the mark survives the wire; the outcome carries the violation and the time the fact happened', () => {
    const command = observationToCommand({ ...moveBack, kind: 'Cancelled', toStatus: null, reason: 'gone' });
    const { events, mark } = decideObservation(command, initialState());
    const [envelope] = toEnvelopes(command, events, initialState(), mark);
    const wire = envelopeToRecord(envelope);
    expect(wire.value.observation).toEqual({ source: 'legacy-wms', sourceId: 'wms-6', process: 'order-flow-1345693', observedBy: 'Walter Chin', violation: null });
    expect(recordToEnvelope(wire)).toEqual(envelope);
    const flagged = { ...mark, violation: { code: 'INVALID_TRANSITION' as const, rule: 'no', fromStatus: 'Packed' as const, transition: 'Packed → PendingPicking' } };
    const outcome = observedOutcome(command, [envelope], 0, flagged);
    expect(outcome).toMatchObject({ status: 'Accepted', alert: true, timestamp: occurredAt, violation: { transition: 'Packed → PendingPicking', source: 'legacy-wms', sourceId: 'wms-6', observedBy: 'Walter Chin' } });
    expect(observedOutcome(command, [envelope], 0, mark)).toMatchObject({ alert: false, violation: null });
  });

  it('are checked before anything is produced: every bad field named', () => {
    expect(observationProblems(moveBack)).toEqual([]);
    const problems = observationProblems({ ...moveBack, shipmentId: 'not an id!', occurredAt: Number.NaN, sourceId: '', toStatus: 'Teleported' });
    expect(problems.map((p) => p.field)).toEqual(['shipmentId', 'occurredAt', 'sourceId', 'toStatus']);
  });
});
