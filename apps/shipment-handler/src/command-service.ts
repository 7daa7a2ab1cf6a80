import { randomUUID } from 'node:crypto';
import { TOPICS, type CommandOutcome, type Serde } from '@waybill/contracts';
import { fingerprint, undeclaredCommandFields, type CommandGateway, type IdempotencyRecord, type Looked, type TrackedOutcome } from '@waybill/command-gateway';
import type { Logger, Principal, SerialProducer } from '@waybill/platform';
import { roleMaySend, validateCommand, type FieldError, type ShipmentCommand, type ShipmentCommandType } from '@waybill/shipment-domain';
import { commandToRecord } from '@waybill/shipment-messages';
import { idempotentCommandId } from './idempotency';

/** What an Idempotency-Key remembers of the shipment command it was used for. */
export interface ShipmentClaim extends IdempotencyRecord {
  shipmentId: string;
}

/** What a poll of a pending shipment command reports. */
export interface PendingShipmentCommand {
  shipmentId: string;
  traceId: string;
}

export type ShipmentGateway = CommandGateway<CommandOutcome, ShipmentClaim, PendingShipmentCommand>;
export type TrackedShipmentOutcome = TrackedOutcome<CommandOutcome>;

export interface CommandRequest {
  principal: Principal;
  shipmentId: string;
  type: ShipmentCommandType;
  data: unknown;
  expectedVersion?: number;
  idempotencyKey?: string;
  traceId?: string;
}

export type CommandResult =
  | { kind: 'invalid'; fieldErrors: FieldError[] }
  | { kind: 'forbidden'; message: string }
  | { kind: 'idempotency-mismatch'; commandId: string }
  | { kind: 'answered'; commandId: string; tracked: TrackedShipmentOutcome }
  | { kind: 'pending'; commandId: string; pending: PendingShipmentCommand };


/**
 * Turns an authenticated request into a command on `shipment.commands` and waits (bounded) for
 * the reducer's answer. Validation and role checks happen here too, so obviously bad requests
 * never reach Kafka; the reducer still decides everything that depends on state.
 */
export class CommandService {
  constructor(
    private readonly deps: {
      producer: SerialProducer;
      commandsTopic: string;
      serde: Serde;
      gateway: ShipmentGateway;
      logger: Logger;
      now?: () => number;
    },
  ) {}

  async send(request: CommandRequest): Promise<CommandResult> {
    const { principal } = request;
    const traceId = request.traceId ?? randomUUID();
    const commandId = request.idempotencyKey ? idempotentCommandId(principal.id, request.idempotencyKey, request.shipmentId) : randomUUID();
    const command = {
      type: request.type,
      data: request.data,
      metadata: {
        commandId,
        shipmentId: request.shipmentId,
        initiatedBy: principal.id,
        role: principal.role,
        traceId,
        now: (this.deps.now ?? Date.now)(),
        ...(request.expectedVersion !== undefined ? { expectedVersion: request.expectedVersion } : {}),
      },
    } as ShipmentCommand;

    const fieldErrors = [...validateCommand(command), ...undeclaredCommandFields(request.type, request.data)];
    if (fieldErrors.length) return { kind: 'invalid', fieldErrors };
    // Viewers and finance may send no shipment command at all; a correction by a non-supervisor
    // goes on to the reducer, which refuses it and raises the alert supervisors must see.
    if (!roleMaySend(principal.role, request.type) && request.type !== 'CorrectStatus') {
      return { kind: 'forbidden', message: `role ${principal.role} may not send ${request.type}` };
    }

    const record = commandToRecord(command);
    const value = await this.deps.serde.encode(TOPICS.shipmentCommands, record.type, record.value as never);
    return this.deps.gateway.submit({
      principal: principal.id,
      commandId,
      idempotencyKey: request.idempotencyKey,
      claim: { commandId, shipmentId: request.shipmentId, fingerprint: fingerprint([request.shipmentId, request.type, request.data, request.expectedVersion ?? null]) },
      pending: { shipmentId: request.shipmentId, traceId },
      produce: async () => {
        await this.deps.producer.send(this.deps.commandsTopic, { key: request.shipmentId, value, headers: { 'x-trace-id': traceId, 'x-command-type': request.type } });
        this.deps.logger.info({ traceId, commandId, shipmentId: request.shipmentId, type: request.type, initiatedBy: principal.id }, 'command produced');
      },
    });
  }

  /** The outcome of an earlier command, or whether it is still pending or unknown. */
  lookup(commandId: string): Promise<Looked<CommandOutcome, PendingShipmentCommand>> {
    return this.deps.gateway.lookup(commandId);
  }
}
