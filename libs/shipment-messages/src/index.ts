export { commandToRecord, recordToCommand, envelopeToRecord, recordToEnvelope, acceptedOutcome, rejectedOutcome } from './lib/mapping';
export { SHIPMENT_ID_PATTERN, formatReadToken, parseReadToken, type ReadToken } from './lib/read-token';
