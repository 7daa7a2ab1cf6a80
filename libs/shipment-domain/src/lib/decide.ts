import { assertNever } from '@waybill/util';
import type {
  Cancel,
  CommandMetadata,
  CompletePicking,
  ConfirmDelivery,
  CorrectStatus,
  CreateShipment,
  MarkReadyForShipping,
  Pack,
  PickItem,
  ReleaseForPicking,
  Ship,
  ShipmentCommand,
} from './commands';
import type { FieldError, Rejection, RejectionCode } from './errors';
import type { ShipmentEvent } from './events';
import type { ShipmentState, ShipmentStatus } from './state';
import { COMMAND_ROLES, CORRECTION, allowedCommands, nextStatus, roleMaySend, targetStatus } from './transitions';
import { validateCommand } from './validation';

type Outcome = readonly ShipmentEvent[] | Rejection;

/** A shipment that exists: `decide` only hands these to the per-command functions after creation. */
type Existing = ShipmentState & { status: ShipmentStatus };

/** `Shipment 1345693` at the start of a sentence; `shipment 1345693` inside one. */
function label(metadata: Partial<CommandMetadata> | undefined, inSentence = false): string {
  const id = metadata?.shipmentId;
  const noun = inSentence ? 'shipment' : 'Shipment';
  return typeof id === 'string' && id.trim() !== '' ? `${noun} ${id}` : `${inSentence ? 'the' : 'The'} shipment`;
}

function reject(state: ShipmentState, code: RejectionCode, reason: string, fieldErrors?: FieldError[]): Rejection {
  const rejection: Rejection = {
    kind: 'rejection',
    code,
    reason,
    currentStatus: state.status,
    allowedCommands: allowedCommands(state.status),
    currentVersion: state.version,
  };
  return fieldErrors ? { ...rejection, fieldErrors } : rejection;
}

function listAllowed(state: ShipmentState): string {
  return `Allowed from ${state.status}: ${allowedCommands(state.status).join(', ')}.`;
}

function invalidTransition(command: ShipmentCommand, state: Existing, why: string): Rejection {
  return reject(state, 'INVALID_TRANSITION', `${label(command.metadata)} is ${state.status}; ${why} ${listAllowed(state)}`);
}

/**
 * The checks every command goes through, in this order: the data (and metadata) are well-formed,
 * the shipment exists (or, for create, does not), the caller saw the current version, the role may
 * send the command, and the table has a cell for it. Rules that need the shipment's lines come
 * after, in the per-command functions.
 */
function precheck(command: ShipmentCommand, state: ShipmentState): Rejection | undefined {
  const shipment = label(command?.metadata);
  const inSentence = label(command?.metadata, true);
  const fieldErrors = validateCommand(command);
  if (fieldErrors.length > 0) {
    const what = typeof command?.type === 'string' ? command.type : 'The command';
    const list = fieldErrors.map((e) => `${e.field} ${e.message}`).join('; ');
    return reject(state, 'VALIDATION', `${what} for ${inSentence} has ${fieldErrors.length} invalid field${fieldErrors.length === 1 ? '' : 's'}: ${list}.`, fieldErrors);
  }

  const { type, metadata } = command;
  if (state.status === 'None' && type !== 'CreateShipment') {
    return reject(state, 'NOT_FOUND', `${shipment} does not exist; it has to be created (CreateShipment) before ${type}.`);
  }
  if (state.status !== 'None' && type === 'CreateShipment') {
    return reject(state, 'VERSION_CONFLICT', `${shipment} already exists (${state.status}, version ${state.version}); CreateShipment only starts a new shipment.`);
  }
  if (metadata.expectedVersion != null && metadata.expectedVersion !== state.version) {
    return reject(
      state,
      'VERSION_CONFLICT',
      `${shipment} is at version ${state.version} but ${type} expected version ${metadata.expectedVersion}; someone changed it in the meantime, so reload it and try again.`,
    );
  }
  if (!roleMaySend(metadata.role, type)) {
    const may = COMMAND_ROLES[type].join(', ');
    return reject(state, 'FORBIDDEN', `${metadata.initiatedBy} (${metadata.role}) may not send ${type} for ${inSentence}; only ${may} may.`);
  }
  if (type !== CORRECTION.command && nextStatus(state.status, type) === undefined) {
    const to = targetStatus(type);
    return invalidTransition(command, state as Existing, `${to} cannot be reached from ${state.status} with ${type}.`);
  }
  return undefined;
}

function createShipment(command: CreateShipment): Outcome {
  const { orderId, customerAccountId, currency, lines, destination } = command.data;
  const totalMinor = lines.reduce((sum, line) => sum + line.quantity * line.unitPriceMinor, 0);
  return [
    {
      type: 'ShipmentCreated',
      data: {
        orderId,
        customerAccountId,
        currency,
        lines: lines.map(({ sku, quantity, unitPriceMinor }) => ({ sku, quantity, unitPriceMinor })),
        destination: {
          name: destination.name,
          street: destination.street,
          city: destination.city,
          postalCode: destination.postalCode,
          country: destination.country,
        },
        totalMinor,
      },
    },
  ];
}

function releaseForPicking(_command: ReleaseForPicking): Outcome {
  return [{ type: 'ReleasedForPicking', data: {} }];
}

/**
 * An sku that is not on the shipment is VALIDATION (the request names something that does not
 * exist here; nothing about the lifecycle). Picking more than ordered is INVALID_TRANSITION: it
 * breaks the table's guard, and a supervisor wants to see a double scan at once.
 */
function pickItem(command: PickItem, state: Existing): Outcome {
  const { sku, quantity } = command.data;
  const line = state.lines.find((l) => l.sku === sku);
  if (!line) {
    const onShipment = state.lines.map((l) => l.sku).join(', ');
    return reject(state, 'VALIDATION', `${label(command.metadata)} has no line for SKU ${sku}; its SKUs are ${onShipment}.`, [
      { field: 'sku', message: `is not on this shipment (its SKUs: ${onShipment})` },
    ]);
  }
  const pickedForSku = line.picked + quantity;
  if (pickedForSku > line.ordered) {
    const left = Math.max(0, line.ordered - line.picked);
    return invalidTransition(
      command,
      state,
      `picking ${quantity} of SKU ${sku} would make ${pickedForSku} picked but only ${line.ordered} were ordered (${line.picked} already picked, ${left} left to pick).`,
    );
  }
  return [{ type: 'ItemPicked', data: { sku, quantity, pickedForSku } }];
}

function completePicking(command: CompletePicking, state: Existing): Outcome {
  const short = state.lines.filter((l) => l.picked < l.ordered);
  if (short.length > 0) {
    const missing = short.map((l) => `SKU ${l.sku} has ${l.picked} of ${l.ordered} picked`).join(', ');
    return invalidTransition(command, state, `picking cannot be completed until every line is fully picked: ${missing}.`);
  }
  return [{ type: 'PickingCompleted', data: {} }];
}

function pack(command: Pack): Outcome {
  return [{ type: 'ShipmentPacked', data: { packageCount: command.data.packageCount } }];
}

function markReadyForShipping(_command: MarkReadyForShipping): Outcome {
  return [{ type: 'ReadyForShipping', data: {} }];
}

function ship(command: Ship, state: Existing): Outcome {
  const { carrier, trackingNumber } = command.data;
  const { customerAccountId, totalMinor, currency } = state;
  return [{ type: 'ShipmentShipped', data: { carrier, trackingNumber, customerAccountId, totalMinor, currency } }];
}

function confirmDelivery(command: ConfirmDelivery): Outcome {
  return [{ type: 'ShipmentDelivered', data: { receivedBy: command.data.receivedBy } }];
}

function cancel(command: Cancel, state: Existing): Outcome {
  return [{ type: 'ShipmentCancelled', data: { reason: command.data.reason, fromStatus: state.status } }];
}

/** Correcting to the status it already has changes nothing: VALIDATION, not an alert. */
function correctStatus(command: CorrectStatus, state: Existing): Outcome {
  const { toStatus, reason } = command.data;
  if (toStatus === state.status) {
    return reject(state, 'VALIDATION', `${label(command.metadata)} is already ${toStatus}; a correction must move it to a different status.`, [
      { field: 'toStatus', message: `must differ from the current status ${state.status}` },
    ]);
  }
  const { customerAccountId, totalMinor, currency } = state;
  return [
    {
      type: 'StatusCorrected',
      data: { fromStatus: state.status, toStatus, reason, correctedBy: command.metadata.initiatedBy, customerAccountId, totalMinor, currency },
    },
  ];
}

/**
 * Decides what a command means for a shipment: the events to append (possibly none), or a
 * rejection that says why not. Pure and total: it never throws, reads no clock and makes no ids.
 */
export function decide(command: ShipmentCommand, state: ShipmentState): readonly ShipmentEvent[] | Rejection {
  const rejected = precheck(command, state);
  if (rejected) return rejected;
  // After precheck only CreateShipment can meet a shipment that does not exist.
  const existing = state as Existing;
  switch (command.type) {
    case 'CreateShipment':
      return createShipment(command);
    case 'ReleaseForPicking':
      return releaseForPicking(command);
    case 'PickItem':
      return pickItem(command, existing);
    case 'CompletePicking':
      return completePicking(command, existing);
    case 'Pack':
      return pack(command);
    case 'MarkReadyForShipping':
      return markReadyForShipping(command);
    case 'Ship':
      return ship(command, existing);
    case 'ConfirmDelivery':
      return confirmDelivery(command);
    case 'Cancel':
      return cancel(command, existing);
    case 'CorrectStatus':
      return correctStatus(command, existing);
    default:
      return assertNever(command);
  }
}
