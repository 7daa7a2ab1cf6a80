export {
  SHIPMENT_STATUSES,
  STATE_SHAPE_VERSION,
  initialState,
  isShipmentStatus,
  type LifecycleStatus,
  type LineState,
  type ShipmentState,
  type ShipmentStatus,
  type StatusPeriod,
  STATUS_TIMELINE_LENGTH,
} from './lib/state';
export {
  OBSERVED_FACT_KINDS,
  SHIPMENT_COMMAND_TYPES,
  SHIPMENT_ROLES,
  type ObservedFactKind,
  isShipmentCommandType,
  type Cancel,
  type CommandMetadata,
  type CompletePicking,
  type ConfirmDelivery,
  type CorrectStatus,
  type CreateShipment,
  type MarkReadyForShipping,
  type Pack,
  type PickItem,
  type ReleaseForPicking,
  type Ship,
  type ShipmentCommand,
  type ShipmentCommandOf,
  type ShipmentCommandType,
  type ShipmentDestination,
  type ShipmentLine,
  type ShipmentRole,
} from './lib/commands';
export {
  SHIPMENT_EVENT_TYPES,
  type ItemPicked,
  type PickingCompleted,
  type ReadyForShipping,
  type ReleasedForPicking,
  type ShipmentCancelled,
  type ShipmentCreated,
  type ShipmentDelivered,
  type ShipmentEvent,
  type ShipmentEventOf,
  type ShipmentEventType,
  type ShipmentPacked,
  type ShipmentShipped,
  type StatusCorrected,
  type StatusObserved,
} from './lib/events';
export { REJECTION_CODES, isRejection, raisesAlert, type FieldError, type Rejection, type RejectionCode } from './lib/errors';
export {
  COMMAND_ROLES,
  CORRECTION,
  TRANSITIONS,
  TRANSITION_GUARDS,
  allowedCommands,
  isTerminalStatus,
  nextStatus,
  renderTransitionTable,
  roleMaySend,
  targetStatus,
  type TableCommandType,
} from './lib/transitions';
export { validateCommand, validateCommandData, validateCommandMetadata, validateObservedFact } from './lib/validation';
export { decideObservation, type ObservationDecision, type ObservedFact, type RecordObservation } from './lib/observations';
export { decide } from './lib/decide';
export { evolve } from './lib/evolve';
export {
  arrivesLate,
  evolveEnvelope,
  isLateObservation,
  statusAt,
  toEnvelopes,
  toEvent,
  type EventEnvelopeMetadata,
  type ObservationMark,
  type RuleViolation,
  type ShipmentEventEnvelope,
} from './lib/envelope';
export { shipmentDecider } from './lib/decider';
