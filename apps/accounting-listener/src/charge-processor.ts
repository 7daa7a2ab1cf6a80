import { TOPICS, type AccountingCommand, type DecodedRecord, type Serde, type StatusObserved, type TopicMap } from '@waybill/contracts';
import { transactionFor, type ShipmentFact } from '@waybill/accounting-domain';
import type { Logger } from '@waybill/platform';
import type { InputRecord, OutputRecord, Processor } from '@waybill/streams';

/**
 * The role stamped on commands this listener derives. No person sent them; `initiatedBy` still
 * names the person whose shipment event caused them, so a charge is traceable to who shipped.
 */
export const SYSTEM_ROLE = 'system';

/** Why money moves on a status change a system of record reported: who did it, and where. */
function observedReason(event: StatusObserved): string {
  const { data, observation } = event;
  return observation ? `${observation.source} reported ${data.fromStatus} → ${data.toStatus} by ${observation.observedBy}` : `observed ${data.fromStatus} → ${data.toStatus}`;
}

/** What accounting reads of a shipment event: only shipping and status changes (corrections, observed moves) move money. */
export function shipmentFact(decoded: DecodedRecord): ShipmentFact {
  switch (decoded.recordName) {
    case 'ShipmentShipped': {
      const { eventId, aggregateId, data } = decoded.value;
      return { type: 'ShipmentShipped', eventId, shipmentId: aggregateId, customerAccountId: data.customerAccountId, totalMinor: data.totalMinor, currency: data.currency };
    }
    case 'StatusCorrected':
    case 'StatusObserved': {
      const { eventId, aggregateId, data } = decoded.value;
      return {
        type: decoded.recordName,
        eventId,
        shipmentId: aggregateId,
        customerAccountId: data.customerAccountId,
        totalMinor: data.totalMinor,
        currency: data.currency,
        fromStatus: data.fromStatus,
        toStatus: data.toStatus,
        reason: decoded.recordName === 'StatusCorrected' ? decoded.value.data.reason : observedReason(decoded.value),
      };
    }
    default: {
      const value = decoded.value as { eventId?: string; aggregateId?: string };
      return { type: 'Other', eventId: value.eventId ?? '', shipmentId: value.aggregateId ?? '' };
    }
  }
}

/**
 * Shipment events in, accounting commands out. The command id is the transaction id, and that is
 * derived from the causing event (`charge:<eventId>`, `reversal:<eventId>`), so a replayed event
 * yields the very same command and the command listener drops it as a duplicate.
 */
export function chargeProcessor(serde: Serde, topics: TopicMap, logger: Logger): Processor<never> {
  return {
    async process(record: InputRecord): Promise<OutputRecord[]> {
      const decoded = await serde.decode(record.value, TOPICS.shipmentEvents);
      const data = transactionFor(shipmentFact(decoded));
      if (!data) return [];
      const event = decoded.value as { eventId: string; traceId: string; initiatedBy: string; timestamp: number };
      const command: AccountingCommand = {
        commandId: data.transactionId,
        aggregateId: data.accountId,
        aggregateType: 'Account',
        expectedVersion: null,
        traceId: event.traceId,
        causationId: event.eventId,
        initiatedBy: event.initiatedBy,
        role: SYSTEM_ROLE,
        // The event's time, not ours: a replay produces a byte-identical command.
        timestamp: event.timestamp,
        data,
      };
      logger.debug({ traceId: event.traceId, eventId: event.eventId, transactionId: data.transactionId, kind: data.kind }, 'shipment event moves money');
      return [
        {
          topic: topics.accountingCommands,
          key: data.accountId,
          value: await serde.encode(TOPICS.accountingCommands, 'AccountingCommand', command),
          headers: { 'x-trace-id': event.traceId, 'x-command-type': 'AccountingCommand' },
        },
      ];
    },
  };
}
