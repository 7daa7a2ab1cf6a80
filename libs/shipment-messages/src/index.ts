export { commandToRecord, recordToCommand, envelopeToRecord, recordToEnvelope, acceptedOutcome, rejectedOutcome } from './lib/mapping';
