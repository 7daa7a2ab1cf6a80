export { commandToRecord, recordToCommand, envelopeToRecord, recordToEnvelope, acceptedOutcome, observedOutcome, rejectedOutcome } from './lib/mapping';
export {
  factOf,
  factToWire,
  markFromWire,
  markToWire,
  nameDerivedUuid,
  observationCommandId,
  observationProblems,
  observationRecord,
  observationToCommand,
  observationTraceId,
} from './lib/observation';
export { SHIPMENT_ID_PATTERN, formatReadToken, parseReadToken, type ReadToken } from './lib/read-token';
