import { TOPICS, type CommandOutcome, type Serde, type ShipmentCommandRecord, type ShipmentEventRecord, type TopicMap } from '@waybill/contracts';
import type { Logger } from '@waybill/platform';
import {
  decide,
  evolveEnvelope,
  initialState,
  isRejection,
  raisesAlert,
  STATE_SHAPE_VERSION,
  toEnvelopes,
  type ShipmentState,
} from '@waybill/shipment-domain';
import { acceptedOutcome, envelopeToRecord, recordToCommand, recordToEnvelope, rejectedOutcome } from '@waybill/shipment-messages';
import type { InputRecord, OutputRecord, Processor, StateStoreDefinition } from '@waybill/streams';

/** How many recent command ids each shipment remembers, to answer a re-delivered command without acting twice. */
const REMEMBERED_COMMANDS = 32;

/** The reducer's state per shipment: the domain state plus the commands that produced its latest events. */
export interface ReducerState {
  shipment: ShipmentState;
  recent: Array<{ commandId: string; version: number; eventIds: string[] }>;
}

function remember(state: ReducerState, commandId: string, version: number, eventId: string): ReducerState['recent'] {
  const recent = state.recent.filter((r) => r.commandId !== commandId);
  const previous = state.recent.find((r) => r.commandId === commandId);
  recent.push({ commandId, version, eventIds: [...(previous?.eventIds ?? []), eventId] });
  return recent.slice(-REMEMBERED_COMMANDS);
}

/** The store: its changelog is `shipment.events`, folded with the domain's own `evolve`. */
export function shipmentStore(serde: Serde, topics: TopicMap): StateStoreDefinition<ReducerState> {
  return {
    name: 'shipments',
    changelogTopic: topics.shipmentEvents,
    // The reducer's wrapper shape is part of what is stored: bump with either.
    shapeVersion: STATE_SHAPE_VERSION * 100 + 1,
    async apply(state, record) {
      const decoded = await serde.decode(record.value, TOPICS.shipmentEvents);
      const envelope = recordToEnvelope({ type: decoded.recordName, value: decoded.value } as ShipmentEventRecord);
      const before = state ?? { shipment: initialState(), recent: [] };
      return {
        shipment: evolveEnvelope(before.shipment, envelope),
        recent: remember(before, envelope.causationId, envelope.version, envelope.eventId),
      };
    },
    // Events carry their own time and version; where the broker put them changes nothing.
    ignoresPosition: true,
    serialize: (state) => JSON.stringify(state),
    deserialize: (text) => JSON.parse(text) as ReducerState,
  };
}

/**
 * Decides one command: events and an accepted outcome, or a rejected outcome (an alert when the
 * rules were broken). A command this shipment already acted on is answered again, never re-applied.
 */
export function shipmentProcessor(serde: Serde, topics: TopicMap, logger: Logger): Processor<ReducerState> {
  return {
    async process(record: InputRecord, ctx): Promise<OutputRecord[]> {
      const decoded = await serde.decode(record.value, TOPICS.shipmentCommands);
      const command = recordToCommand({ type: decoded.recordName, value: decoded.value } as ShipmentCommandRecord);
      const shipmentId = command.metadata.shipmentId;
      const state = (await ctx.getState(shipmentId)) ?? { shipment: initialState(), recent: [] };
      const outcomeRecord = async (outcome: CommandOutcome): Promise<OutputRecord> => ({
        topic: topics.shipmentOutcomes,
        key: shipmentId,
        value: await serde.encode(TOPICS.shipmentOutcomes, 'CommandOutcome', outcome),
        headers: { 'x-trace-id': command.metadata.traceId },
      });

      const seen = state.recent.find((r) => r.commandId === command.metadata.commandId);
      if (seen) {
        logger.warn({ commandId: seen.commandId, shipmentId }, 'command already applied; answering again without new events');
        return [await outcomeRecord({ ...acceptedOutcome(command, [], seen.version), eventIds: seen.eventIds })];
      }

      const decision = decide(command, state.shipment);
      if (isRejection(decision)) {
        const alert = raisesAlert(decision);
        if (alert) {
          logger.warn(
            { traceId: command.metadata.traceId, shipmentId, initiatedBy: command.metadata.initiatedBy, command: command.type, status: decision.currentStatus },
            'ALERT: forbidden command refused',
          );
        }
        return [await outcomeRecord(rejectedOutcome(command, decision, alert))];
      }

      const envelopes = toEnvelopes(command, decision, state.shipment);
      const outputs: OutputRecord[] = [];
      for (const envelope of envelopes) {
        const eventRecord = envelopeToRecord(envelope);
        outputs.push({
          topic: topics.shipmentEvents,
          key: shipmentId,
          value: await serde.encode(TOPICS.shipmentEvents, eventRecord.type, eventRecord.value as never),
          headers: { 'x-trace-id': envelope.traceId, 'x-event-type': envelope.type },
        });
      }
      outputs.push(await outcomeRecord(acceptedOutcome(command, envelopes, state.shipment.version)));
      return outputs;
    },
  };
}
