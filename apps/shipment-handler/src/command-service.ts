import { randomUUID } from 'node:crypto';
import { TOPICS, type Serde } from '@waybill/contracts';
import type { Logger, Principal } from '@waybill/platform';
import { roleMaySend, validateCommand, type FieldError, type ShipmentCommand, type ShipmentCommandType } from '@waybill/shipment-domain';
import { commandToRecord } from '@waybill/shipment-messages';
import { fingerprint, idempotentCommandId, IdempotencyStore } from './idempotency';
import { undeclaredFields } from './undeclared-fields';
import type { OutcomeTracker, TrackedOutcome } from './outcome-tracker';
import type { SerialProducer } from '@waybill/platform';

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
  | { kind: 'answered'; commandId: string; tracked: TrackedOutcome }
  | { kind: 'pending'; commandId: string; shipmentId: string; traceId: string };


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
      keyPrefix: string;
      serde: Serde;
      tracker: OutcomeTracker;
      idempotency: IdempotencyStore;
      redis: import('ioredis').default;
      outcomeWaitMs: number;
      ttlSeconds: number;
      logger: Logger;
      now?: () => number;
    },
  ) {}

  private pendingKey(commandId: string): string {
    return `${this.deps.keyPrefix}:command:${commandId}`;
  }

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

    const fieldErrors = [...validateCommand(command), ...undeclaredFields(request.type, request.data)];
    if (fieldErrors.length) return { kind: 'invalid', fieldErrors };
    // Viewers and finance may send no shipment command at all; a correction by a non-supervisor
    // goes on to the reducer, which refuses it and raises the alert supervisors must see.
    if (!roleMaySend(principal.role, request.type) && request.type !== 'CorrectStatus') {
      return { kind: 'forbidden', message: `role ${principal.role} may not send ${request.type}` };
    }

    if (request.idempotencyKey) {
      const claim = await this.deps.idempotency.claim(principal.id, request.idempotencyKey, {
        commandId,
        shipmentId: request.shipmentId,
        fingerprint: fingerprint([request.shipmentId, request.type, request.data, request.expectedVersion ?? null]),
      });
      if (claim.kind === 'mismatch') return { kind: 'idempotency-mismatch', commandId: claim.record.commandId };
      if (claim.kind === 'replay') return this.await(claim.record.commandId, claim.record.shipmentId, traceId);
    }

    const wait = this.deps.tracker.expect(commandId);
    const record = commandToRecord(command);
    const value = await this.deps.serde.encode(TOPICS.shipmentCommands, record.type, record.value as never);
    await this.deps.redis.set(this.pendingKey(commandId), JSON.stringify({ shipmentId: request.shipmentId, traceId }), 'EX', this.deps.ttlSeconds);
    try {
      await this.deps.producer.send(this.deps.commandsTopic, {
        key: request.shipmentId,
        value,
        headers: { 'x-trace-id': traceId, 'x-command-type': request.type },
      });
    } catch (err) {
      // Not acknowledged: nothing is pending, and the key must let a retry produce it. (Had it
      // reached the topic after all, the retry's same command id is answered, not applied twice.)
      await this.deps.redis.del(this.pendingKey(commandId)).catch(() => undefined);
      if (request.idempotencyKey) await this.deps.idempotency.release(principal.id, request.idempotencyKey, commandId).catch(() => undefined);
      throw err;
    }
    this.deps.logger.info({ traceId, commandId, shipmentId: request.shipmentId, type: request.type, initiatedBy: principal.id }, 'command produced');
    const tracked = await wait(this.deps.outcomeWaitMs);
    return tracked ? { kind: 'answered', commandId, tracked } : { kind: 'pending', commandId, shipmentId: request.shipmentId, traceId };
  }

  /** The outcome of an earlier command, or whether it is still pending or unknown. */
  async lookup(commandId: string): Promise<TrackedOutcome | 'pending' | 'unknown'> {
    const tracked = await this.deps.tracker.find(commandId);
    if (tracked) return tracked;
    return (await this.deps.redis.exists(this.pendingKey(commandId))) ? 'pending' : 'unknown';
  }

  private async await(commandId: string, shipmentId: string, traceId: string): Promise<CommandResult> {
    const tracked = await this.deps.tracker.expect(commandId)(this.deps.outcomeWaitMs);
    return tracked ? { kind: 'answered', commandId, tracked } : { kind: 'pending', commandId, shipmentId, traceId };
  }
}
