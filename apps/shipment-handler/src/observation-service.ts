import { TOPICS, type Serde } from '@waybill/contracts';
import type { Logger, Principal, SerialProducer } from '@waybill/platform';
import type { ObservedFact } from '@waybill/shipment-domain';
import { observationProblems, observationRecord, observationToCommand } from '@waybill/shipment-messages';
import type { CommandResult, ShipmentGateway } from './command-service';

export interface ObservationRequest {
  /** The integration reporting the fact: `reportedBy`, whatever the body says. */
  principal: Principal;
  shipmentId: string;
  fact: ObservedFact;
  occurredAt: number;
}

/**
 * Puts a fact a system of record reports on `shipment.observations` and waits (bounded) for the
 * reducer's answer: a fact is recorded, never refused, so the answer is the events it became and
 * any rule it broke. The same (source, sourceId) always has the same command id, so a webhook that
 * retries is answered with what was recorded the first time.
 */
export class ObservationService {
  constructor(
    private readonly deps: {
      producer: SerialProducer;
      observationsTopic: string;
      serde: Serde;
      gateway: ShipmentGateway;
      logger: Logger;
    },
  ) {}

  async report(request: ObservationRequest): Promise<CommandResult> {
    const { principal, shipmentId, fact, occurredAt } = request;
    const observation = observationRecord(fact, shipmentId, occurredAt, principal.id);
    const fieldErrors = observationProblems(observation);
    if (fieldErrors.length) return { kind: 'invalid', fieldErrors };
    // The ids the reducer's intake gives this observation: the answer to wait for is that command's.
    const { commandId, traceId } = observationToCommand(observation).metadata;
    const value = await this.deps.serde.encode(TOPICS.shipmentObservations, 'Observation', observation);
    return this.deps.gateway.submit({
      principal: principal.id,
      commandId,
      idempotencyKey: undefined,
      claim: { commandId, shipmentId, fingerprint: '' },
      pending: { shipmentId, traceId },
      produce: async () => {
        await this.deps.producer.send(this.deps.observationsTopic, { key: shipmentId, value, headers: { 'x-trace-id': traceId, 'x-observation-source': fact.source } });
        this.deps.logger.info({ traceId, commandId, shipmentId, source: fact.source, sourceId: fact.sourceId, kind: fact.kind, reportedBy: principal.id }, 'observation produced');
      },
    });
  }
}
